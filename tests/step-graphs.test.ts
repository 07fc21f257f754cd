/**
 * The GPU loop's tiny graphs, run with onnxruntime-node: each equals the CPU loop's math (guidance
 * combine, Euler step, preview, VAE input scaling), and the upload graph returns its inputs.
 */
import * as ortNode from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { combineGuidance, unscaleLatents } from '../src/diffusion/image-math.js';
import { latentPreview, previewPlanesToRgba } from '../src/diffusion/latent-preview.js';
import { createRng, fillStandardNormal } from '../src/diffusion/noise.js';
import { buildSchedule, eulerStep } from '../src/diffusion/scheduler.js';
import { buildFinishGraph, buildStepGraph, buildUploadGraph, stepGraphNames } from '../src/onnx/step-graphs.js';
import type { GuidancePlan } from '../src/protocol.js';

const [C, H, W] = [16, 6, 5];
const N = C * H * W;
const rng = createRng(7);
const randn = (n: number) => fillStandardNormal(rng, new Float32Array(n));
const T = (data: Float32Array, dims: number[]) => new ortNode.Tensor('float32', data, dims);
const session = (model: Uint8Array) => ortNode.InferenceSession.create(model, { executionProviders: ['cpu'] });

/** Largest |a − b| over two arrays of equal length. */
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('step graph', () => {
  const schedule = buildSchedule(8, { numTrainTimesteps: 1000, shift: 3 });
  const index = 2;
  const dt = Math.fround(schedule.sigmas[index + 1]! - schedule.sigmas[index]!);
  const sigma = schedule.sigmas[index]!;
  const g = 4.5;
  const x = randn(N);
  const u = randn(N);
  const c = randn(N);

  /** The CPU loop's step: combine (under guidance), preview from x before the update, Euler. */
  function cpuStep(guided: boolean) {
    const both = new Float32Array(2 * N);
    both.set(u);
    both.set(c, N);
    const v = guided ? combineGuidance(both, g) : c;
    const preview = latentPreview(x, v, sigma, C, H, W);
    const next = eulerStep(schedule, index, x, v);
    return { next, preview };
  }

  const cases: [GuidancePlan, (f: Record<string, ortNode.Tensor>) => void][] = [
    ['batched', (f) => {
      const both = new Float32Array(2 * N);
      both.set(u);
      both.set(c, N);
      f.velocity = T(both, [2, C, H, W]);
    }],
    ['split', (f) => {
      f.velocity_uncond = T(u, [1, C, H, W]);
      f.velocity_cond = T(c, [1, C, H, W]);
    }],
    ['single', (f) => void (f.velocity = T(c, [1, C, H, W]))],
  ];

  for (const [plan, addVelocity] of cases) {
    it(`${plan}: next latents equal the CPU combine + Euler step; the preview matches latentPreview`, async () => {
      const s = await session(buildStepGraph({ plan, preview: true, channels: C }));
      const feeds: Record<string, ortNode.Tensor> = { latents: T(x, [1, C, H, W]), params: T(Float32Array.from([dt, g, sigma]), [3]) };
      addVelocity(feeds);
      const names = stepGraphNames({ plan, preview: true, channels: C });
      expect([...s.inputNames].sort()).toEqual(['latents', 'params', ...names.velocities].sort());
      const out = await s.run(feeds);
      expect(Object.keys(out).sort()).toEqual([...names.outputs].sort());
      const want = cpuStep(plan !== 'single');
      const next = out.latents_out!.data as Float32Array;
      expect(out.latents_out!.dims).toEqual([1, C, H, W]);
      // float32 op by op on the graph vs one rounding in JS: within a few ulps of values around 1–10.
      expect(maxDiff(next, want.next)).toBeLessThan(1e-5);
      expect(maxDiff(next, x)).toBeGreaterThan(0.01); // the step moved the latents
      if (plan === 'batched') {
        const mi = out.model_input!;
        expect(mi.dims).toEqual([2, C, H, W]);
        expect(Array.from((mi.data as Float32Array).subarray(0, N))).toEqual(Array.from(next));
        expect(Array.from((mi.data as Float32Array).subarray(N))).toEqual(Array.from(next));
      }
      const rgba = previewPlanesToRgba(out.preview_rgb!.data as Float32Array, H, W);
      expect(maxDiff(rgba, want.preview)).toBeLessThanOrEqual(1);
      await s.release();
    });
  }

  it('without the preview output the graph has only the latents outputs', async () => {
    const s = await session(buildStepGraph({ plan: 'batched', preview: false, channels: C }));
    expect([...s.outputNames].sort()).toEqual(['latents_out', 'model_input']);
    await s.release();
  });
});

describe('finish and upload graphs', () => {
  it('finish: latents / scaling + shift, as unscaleLatents', async () => {
    const x = randn(N);
    const s = await session(buildFinishGraph(1.5305, 0.0609));
    const out = await s.run({ latents: T(x, [1, C, H, W]) });
    expect(maxDiff(out.latent_sample!.data as Float32Array, unscaleLatents(x, 1.5305, 0.0609))).toBeLessThan(1e-6);
    await s.release();
  });

  it('upload: each input comes back unchanged as <name>_out', async () => {
    const a = randn(2 * 3 * 4);
    const b = randn(2 * 5);
    const s = await session(buildUploadGraph([{ name: 'embeds', rank: 3 }, { name: 'pooled', rank: 2 }]));
    const out = await s.run({ embeds: T(a, [2, 3, 4]), pooled: T(b, [2, 5]) });
    expect(Array.from(out.embeds_out!.data as Float32Array)).toEqual(Array.from(a));
    expect(out.pooled_out!.dims).toEqual([2, 5]);
    expect(Array.from(out.pooled_out!.data as Float32Array)).toEqual(Array.from(b));
    await s.release();
  });
});
