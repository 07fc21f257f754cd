import { describe, expect, it } from 'vitest';
import { validateRequest } from '../src/diffusion/validate-request.js';
import { WebDiffusionError } from '../src/errors.js';

const limits = { minSide: 64, maxSide: 768, multipleOf: 16 };
const ok = { jobId: 'j', prompt: 'a cat', width: 256, height: 192, steps: 8, guidance: 4.5, seed: 1 };
const codeOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(WebDiffusionError);
    return (e as WebDiffusionError).code;
  }
  return 'no error';
};

describe('validateRequest', () => {
  it('accepts a good request and fills defaults', () => {
    const v = validateRequest({ ...ok, seed: undefined }, limits, () => 99);
    expect(v.seed).toBe(99);
    expect(v.negativePrompt).toBe('');
  });
  it.each([
    [{ width: 250 }, 'INVALID_SIZE'],
    [{ height: 48 }, 'INVALID_SIZE'],
    [{ width: 784 }, 'INVALID_SIZE'],
    [{ width: Number.NaN }, 'INVALID_SIZE'],
    [{ steps: 0 }, 'INVALID_STEPS'],
    [{ steps: 101 }, 'INVALID_STEPS'],
    [{ steps: 2.5 }, 'INVALID_STEPS'],
    [{ guidance: -0.1 }, 'INVALID_GUIDANCE'],
    [{ guidance: 20.5 }, 'INVALID_GUIDANCE'],
    [{ guidance: Number.NaN }, 'INVALID_GUIDANCE'],
    [{ seed: -1 }, 'INVALID_SEED'],
    [{ seed: 2 ** 32 }, 'INVALID_SEED'],
    [{ seed: 1.5 }, 'INVALID_SEED'],
    [{ prompt: 42 as unknown as string }, 'INVALID_PROMPT'],
    [{ jobId: '' }, 'INVALID_REQUEST'],
  ])('%o → %s', (patch, code) => {
    expect(codeOf(() => validateRequest({ ...ok, ...patch }, limits))).toBe(code);
  });
  it('names the field and the limits, and suggests a size', () => {
    try {
      validateRequest({ ...ok, width: 250 }, limits);
    } catch (e) {
      const err = e as WebDiffusionError;
      expect(err.message).toContain('multiple of 16 between 64 and 768');
      expect(err.details).toMatchObject({ field: 'width', value: 250 });
      expect(err.hint).toBe('Try 240.');
    }
  });
  it('accepts the edges: 1 and 100 steps, guidance 0 and 20, seed 2^32 − 1', () => {
    for (const patch of [{ steps: 1 }, { steps: 100 }, { guidance: 0 }, { guidance: 20 }, { seed: 2 ** 32 - 1 }]) {
      expect(() => validateRequest({ ...ok, ...patch }, limits)).not.toThrow();
    }
  });
});
