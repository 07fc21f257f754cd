/** Page logic without a DOM: size presets and snapping, seeds of a batch, the job queue. */
import { describe, expect, it } from 'vitest';
import { JobQueue, type QueuedJob } from '../src/app/job-queue.js';
import { batchSeeds, type GenerationParams } from '../src/shared/params.js';
import { ASPECTS, aspectOf, presetSize, snapSide } from '../src/app/sizes.js';

const limits = { min: 64, max: 768, multipleOf: 16 };

describe('sizes', () => {
  it('snaps to multiples of 16 within the range', () => {
    expect(snapSide(250, limits)).toBe(256);
    expect(snapSide(1000, limits)).toBe(768);
    expect(snapSide(10, limits)).toBe(64);
    expect(snapSide(Number.NaN, limits)).toBe(64);
  });
  it('every preset is on the grid, near the native area, with the right orientation', () => {
    for (const a of ASPECTS) {
      const s = presetSize(a.id, 1024 * 1024, { min: 512, max: 1440, multipleOf: 16 });
      expect(s.width % 16).toBe(0);
      expect(s.height % 16).toBe(0);
      expect(Math.abs((s.width * s.height) / (1024 * 1024) - 1)).toBeLessThan(0.06);
      expect(Math.sign(s.width - s.height)).toBe(Math.sign(a.w - a.h));
      expect(aspectOf(s.width, s.height, 1024 * 1024, { min: 512, max: 1440, multipleOf: 16 })).toBe(a.id);
    }
    expect(presetSize('1:1', 256 * 256, limits)).toEqual({ width: 256, height: 256 });
    expect(aspectOf(250, 256, 256 * 256, limits)).toBe('custom');
    // The ratio counts, at any area: 512×512 is 1:1 for a model whose native size is 256×256.
    expect(aspectOf(512, 512, 256 * 256, limits)).toBe('1:1');
    expect(aspectOf(512, 288, 256 * 256, limits)).toBe('16:9');
  });
});

describe('batch seeds', () => {
  it('fixed seed s gives s, s+1, … (wrapping at 2^32); random gives null each', () => {
    expect(batchSeeds(7, 3)).toEqual([7, 8, 9]);
    expect(batchSeeds(2 ** 32 - 1, 2)).toEqual([2 ** 32 - 1, 0]);
    expect(batchSeeds(null, 2)).toEqual([null, null]);
  });
});

describe('job queue', () => {
  const params = (seed: number): GenerationParams => ({ prompt: 'p', negativePrompt: '', width: 64, height: 64, steps: 1, guidance: 1, seed, modelId: 'm' });

  it('runs one job at a time in order; queued jobs can be removed, the running one aborted', async () => {
    const ran: number[] = [];
    const gates: (() => void)[] = [];
    const signals: AbortSignal[] = [];
    const q = new JobQueue((job: QueuedJob, signal) => {
      ran.push(job.params.seed!);
      signals.push(signal);
      return new Promise<void>((resolve) => gates.push(resolve));
    });
    const jobs = q.add([params(1), params(2), params(3)]);
    expect(q.list().map((j) => j.status)).toEqual(['running', 'queued', 'queued']);
    q.cancel(jobs[1]!.id);
    expect(q.list().map((j) => j.params.seed)).toEqual([1, 3]);
    q.cancelRunning();
    expect(signals[0]!.aborted).toBe(true);
    gates[0]!();
    await new Promise((r) => setTimeout(r, 0));
    expect(ran).toEqual([1, 3]);
    gates[1]!();
    await new Promise((r) => setTimeout(r, 0));
    expect(q.busy).toBe(false);
  });

  it('drops the rest of a batch', async () => {
    const q = new JobQueue(() => new Promise<void>(() => undefined));
    const [a] = q.add([params(1), params(2)]);
    q.add([params(9)]);
    q.dropBatch(a!.batch);
    expect(q.list().map((j) => j.params.seed)).toEqual([1, 9]);
  });
});
