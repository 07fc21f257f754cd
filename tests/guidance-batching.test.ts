/** Guidance batching from the adapter's limits, with SD 3.5 Medium's real numbers (24 heads of 64, 333 text tokens). */
import { describe, expect, it } from 'vitest';
import { chooseGuidanceBatching, largestStepBuffer, sd3Workload } from '../src/runtime/guidance-batching.js';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const limits = (bytes: number) => ({ maxBufferSize: bytes, maxStorageBufferBindingSize: bytes });
const medium = (side: number, bytesPerValue = 4) => sd3Workload(1536, { width: side, height: side }, { bytesPerValue });

describe('guidance batching', () => {
  it('Medium workloads: 1357 tokens at 512², 4429 at 1024², attention scores dominate', () => {
    const w512 = medium(512);
    expect([w512.heads, w512.imageTokens + w512.textTokens]).toEqual([24, 1357]);
    expect(largestStepBuffer(w512, 1)).toBe(24 * 1357 * 1357 * 4); // 168.6 MiB
    expect(largestStepBuffer(w512, 2)).toBe(2 * 24 * 1357 * 1357 * 4); // 337.2 MiB
    const w1024 = medium(1024);
    expect(w1024.imageTokens + w1024.textTokens).toBe(4429);
    expect(largestStepBuffer(w1024, 2)).toBe(2 * 24 * 4429 * 4429 * 4); // 3.51 GiB
  });

  it('128 MiB (the WebGPU default binding size): two batch-1 runs, and the report says even one image is over', () => {
    const c = chooseGuidanceBatching(medium(512), limits(128 * MiB));
    expect(c.plan).toBe('split');
    expect(c.reason).toContain('even one image');
  });

  it('1 GiB: batch 2 at 512², two batch-1 runs at 1024²', () => {
    expect(chooseGuidanceBatching(medium(512), limits(GiB)).plan).toBe('batched');
    expect(chooseGuidanceBatching(medium(1024), limits(GiB)).plan).toBe('split');
  });

  it('2 GiB: at 1024² one image fits (1.75 GiB) but two do not; with fp16 activations two do', () => {
    const c = chooseGuidanceBatching(medium(1024), limits(2 * GiB));
    expect(c.plan).toBe('split');
    expect(c.batch1Bytes).toBeLessThanOrEqual(2 * GiB);
    expect(c.reason).not.toContain('even one image');
    expect(chooseGuidanceBatching(medium(1024, 2), limits(2 * GiB)).plan).toBe('batched');
  });

  it('4 GiB (binding sizes are 32-bit: 4 GiB − 4): batch 2 at 1024²', () => {
    const c = chooseGuidanceBatching(medium(1024), { maxBufferSize: 4 * GiB, maxStorageBufferBindingSize: 4 * GiB - 4 });
    expect(c.plan).toBe('batched');
    expect(c.limitBytes).toBe(4 * GiB - 4);
  });

  it('the smaller of the two limits decides', () => {
    expect(chooseGuidanceBatching(medium(512), { maxBufferSize: 4 * GiB, maxStorageBufferBindingSize: 256 * MiB }).plan).toBe('split');
    expect(chooseGuidanceBatching(medium(512), { maxBufferSize: 256 * MiB, maxStorageBufferBindingSize: 4 * GiB }).plan).toBe('split');
  });

  it('no limits (no WebGPU adapter): one batch-2 run', () => {
    expect(chooseGuidanceBatching(medium(1024), undefined).plan).toBe('batched');
  });
});
