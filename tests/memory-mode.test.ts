/** Memory mode from the weights' bytes and the device, overridable. */
import { describe, expect, it } from 'vitest';
import { chooseMemoryMode, readAheadPlan, weightBudget } from '../src/runtime/memory-mode.js';

const GB = 1e9;
const GiB = 1024 ** 3;
// SD 3.5 Medium in q4 (estimates): CLIP-L, CLIP-G, T5-XXL, transformer, VAE decoder — 4.58 GB in all.
const medium = { text_encoder: 0.08 * GB, text_encoder_2: 0.4 * GB, text_encoder_3: 2.6 * GB, transformer: 1.4 * GB, vae_decoder: 0.1 * GB };
const largeTurbo = { ...medium, transformer: 4.4 * GB };
const tiny = { text_encoder: 1e5, text_encoder_2: 2e5, text_encoder_3: 6e5, transformer: 1.2e6, vae_decoder: 5e5 };

describe('memory mode', () => {
  it('Medium q4 on WebGPU: fast with 8 GiB reported (the browsers’ cap) or unknown, low memory with 4 GiB', () => {
    expect(chooseMemoryMode(medium, { backend: 'webgpu', deviceMemoryGiB: 8 }).mode).toBe('fast');
    expect(chooseMemoryMode(medium, { backend: 'webgpu' }).mode).toBe('fast');
    const four = chooseMemoryMode(medium, { backend: 'webgpu', deviceMemoryGiB: 4 });
    expect(four.mode).toBe('low-memory');
    expect(four.reason).toContain('4.3 GiB');
    expect(four.largestBytes).toBe(2.6 * GB);
  });

  it('Large Turbo q4 (7.6 GB) needs low memory even on an 8 GiB device', () => {
    expect(chooseMemoryMode(largeTurbo, { backend: 'webgpu', deviceMemoryGiB: 8 }).mode).toBe('low-memory');
  });

  it('a GPU with a small maxBufferSize gets a smaller budget', () => {
    expect(weightBudget({ backend: 'webgpu', deviceMemoryGiB: 8, maxBufferSize: 256 * 1024 ** 2 })).toBeCloseTo(0.4 * 8 * GiB);
    expect(chooseMemoryMode(medium, { backend: 'webgpu', deviceMemoryGiB: 8, maxBufferSize: 256 * 1024 ** 2 }).mode).toBe('low-memory');
  });

  it('WASM is held to its 4 GiB heap: Medium runs one component at a time there', () => {
    expect(weightBudget({ backend: 'wasm', deviceMemoryGiB: 8 })).toBe(3 * GiB);
    expect(chooseMemoryMode(medium, { backend: 'wasm', deviceMemoryGiB: 8 }).mode).toBe('low-memory');
    expect(chooseMemoryMode(tiny, { backend: 'wasm', deviceMemoryGiB: 2 }).mode).toBe('fast');
  });

  it('the person’s choice wins either way', () => {
    expect(chooseMemoryMode(tiny, { backend: 'wasm' }, 'low-memory')).toMatchObject({ mode: 'low-memory', reason: 'chosen in the settings' });
    expect(chooseMemoryMode(largeTurbo, { backend: 'webgpu', deviceMemoryGiB: 2 }, 'fast').mode).toBe('fast');
  });
});

describe('reading the next component ahead during a fast-mode load', () => {
  const order = ['text_encoder', 'text_encoder_2', 'text_encoder_3', 'transformer', 'vae_decoder'] as const;
  const plan = (sizes: Record<(typeof order)[number], number>) => readAheadPlan(order.map((c) => sizes[c]));

  it('Medium: the text encoders are read ahead, the transformer not while T5 is created (that would raise the peak)', () => {
    // Peak without reading ahead: the transformer's creation, 3.08 + 2 × 1.4 = 5.88 GB.
    expect(plan(medium)).toEqual([true, true, false, false, false]);
  });

  it('a pack whose largest component comes last reads it ahead of time', () => {
    expect(plan({ text_encoder: 1, text_encoder_2: 1, text_encoder_3: 1, transformer: 10, vae_decoder: 1 })).toEqual([true, true, true, false, false]);
    expect(readAheadPlan([])).toEqual([]);
  });
});
