/**
 * Checks a generation request before any work starts; every problem is a WebDiffusionError with
 * a code, the offending field and what to do.
 */
import { WebDiffusionError } from '../errors.js';
import type { GenerateRequest } from '../protocol.js';

export interface SizeLimits {
  minSide: number;
  maxSide: number;
  multipleOf: number;
}

export const STEP_RANGE = { min: 1, max: 100 } as const;
export const GUIDANCE_RANGE = { min: 0, max: 20 } as const;
export const MAX_SEED = 2 ** 32 - 1;

export interface ValidRequest extends Required<Omit<GenerateRequest, 'seed'>> {
  seed: number;
}

/** A random seed in [0, 2^32) from the platform's CSPRNG. */
export function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}

export function validateRequest(req: GenerateRequest, limits: SizeLimits, pickSeed: () => number = randomSeed): ValidRequest {
  if (typeof req.prompt !== 'string') {
    throw new WebDiffusionError('INVALID_PROMPT', 'The prompt must be text.', { details: { field: 'prompt' } });
  }
  if (req.negativePrompt !== undefined && typeof req.negativePrompt !== 'string') {
    throw new WebDiffusionError('INVALID_PROMPT', 'The negative prompt must be text.', { details: { field: 'negativePrompt' } });
  }
  for (const field of ['width', 'height'] as const) {
    const v = req[field];
    const { minSide, maxSide, multipleOf } = limits;
    if (!Number.isInteger(v) || v % multipleOf !== 0 || v < minSide || v > maxSide) {
      const lower = Math.max(minSide, Math.floor((Number(v) || 0) / multipleOf) * multipleOf);
      throw new WebDiffusionError('INVALID_SIZE', `${field === 'width' ? 'Width' : 'Height'} ${v} is not supported: it must be a multiple of ${multipleOf} between ${minSide} and ${maxSide} pixels.`, {
        hint: `Try ${Math.min(maxSide, lower)}.`,
        details: { field, value: v, ...limits },
      });
    }
  }
  if (!Number.isInteger(req.steps) || req.steps < STEP_RANGE.min || req.steps > STEP_RANGE.max) {
    throw new WebDiffusionError('INVALID_STEPS', `Steps must be a whole number from ${STEP_RANGE.min} to ${STEP_RANGE.max}; got ${req.steps}.`, {
      details: { field: 'steps', value: req.steps, ...STEP_RANGE },
    });
  }
  if (typeof req.guidance !== 'number' || !Number.isFinite(req.guidance) || req.guidance < GUIDANCE_RANGE.min || req.guidance > GUIDANCE_RANGE.max) {
    throw new WebDiffusionError('INVALID_GUIDANCE', `Guidance must be a number from ${GUIDANCE_RANGE.min} to ${GUIDANCE_RANGE.max}; got ${req.guidance}.`, {
      details: { field: 'guidance', value: req.guidance, ...GUIDANCE_RANGE },
    });
  }
  if (req.seed !== undefined && (!Number.isInteger(req.seed) || req.seed < 0 || req.seed > MAX_SEED)) {
    throw new WebDiffusionError('INVALID_SEED', `The seed must be a whole number from 0 to ${MAX_SEED}; got ${req.seed}.`, {
      hint: 'Leave the seed empty for a random one.',
      details: { field: 'seed', value: req.seed },
    });
  }
  if (typeof req.jobId !== 'string' || !req.jobId) {
    throw new WebDiffusionError('INVALID_REQUEST', 'A generation request needs a jobId.', { details: { field: 'jobId' } });
  }
  return {
    jobId: req.jobId,
    prompt: req.prompt,
    negativePrompt: req.negativePrompt ?? '',
    width: req.width,
    height: req.height,
    steps: req.steps,
    guidance: req.guidance,
    seed: req.seed ?? pickSeed(),
    preview: req.preview === true,
  };
}
