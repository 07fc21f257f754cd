/**
 * Tiny ONNX graphs that keep the denoising loop on the GPU (the session runs them with their outputs
 * left in GPU buffers), so that no step reads anything back:
 *
 * - upload: named float inputs → the same tensors as outputs (CPU data in, GPU tensors out; used
 *   once per generation for the prompt embeddings and the initial latents);
 * - step: latents + velocity (+ guidance) → the next latents (classifier-free guidance combine and
 *   the flow-matching Euler update, exactly the CPU loop's math), plus the transformer's batch-2
 *   input (the new latents twice) when guidance runs as one batch-2 pass, plus, when previews are
 *   on, the latent-resolution RGB preview of the denoised estimate (the only thing read back);
 * - finish: latents → the VAE decoder's input (z / scaling + shift).
 *
 * Per-step scalars travel in one float input `params` = [dt, guidance, sigma] (12 bytes).
 */
import { SD3_LATENT_RGB_BIAS, SD3_LATENT_RGB_FACTORS } from '../diffusion/latent-preview.js';
import type { GuidancePlan } from '../protocol.js';
import { DType, GraphBuilder } from './graph-builder.js';


const LATENT_DIMS = (batch: number | string) => [batch, 'channels', 'height', 'width'];

function serialize(g: GraphBuilder): Uint8Array {
  // Everything inline (the graphs hold at most a 16×3 matrix).
  return g.serialize({ externalDataFile: 'unused', sizeThreshold: Number.MAX_SAFE_INTEGER, producer: 'webdiffusion' }).model;
}

/** Inputs `names` (float, given ranks) copied to outputs `${name}_out`. */
export function buildUploadGraph(inputs: readonly { name: string; rank: number }[]): Uint8Array {
  const g = new GraphBuilder('upload', 0);
  for (const { name, rank } of inputs) {
    const dims = Array.from({ length: rank }, (_, k) => `${name}_d${k}`);
    g.input(name, DType.FLOAT, dims);
    g.output(`${name}_out`, name, DType.FLOAT, dims);
  }
  return serialize(g);
}

export interface StepGraphOptions {
  /** batched: velocity [uncond ; cond] from one batch-2 run; split: two batch-1 velocities; single: no guidance. */
  plan: GuidancePlan;
  /** Add the `preview_rgb` output [1, 3, h, w]: ((factors·x0 + bias) + 1) / 2 · 255, unclamped. */
  preview: boolean;
  /** Latent channels (the preview projection's width; channels beyond SD3's 16 are ignored). */
  channels: number;
}

/** Input and output names of the step graph for a plan. */
export function stepGraphNames(o: StepGraphOptions): { velocities: string[]; outputs: string[] } {
  const velocities = o.plan === 'split' ? ['velocity_uncond', 'velocity_cond'] : ['velocity'];
  const outputs = ['latents_out', ...(o.plan === 'batched' ? ['model_input'] : []), ...(o.preview ? ['preview_rgb'] : [])];
  return { velocities, outputs };
}

/**
 * The step graph. Inputs: `latents` [1, C, h, w]; `velocity` [2, C, h, w] (batched: uncond first, as
 * the transformer's batch order) or [1, C, h, w] (single), or `velocity_uncond` + `velocity_cond`
 * (split); `params` [3] = [dt, guidance, sigma]. Math, float32 as the CPU loop:
 *   v = u + g·(c − u) (guided plans), latents_out = x + dt·v, x0 = x − σ·v (preview).
 */
export function buildStepGraph(o: StepGraphOptions): Uint8Array {
  const g = new GraphBuilder(`step_${o.plan}${o.preview ? '_preview' : ''}`, 0);
  const x = g.input('latents', DType.FLOAT, LATENT_DIMS(1));
  const params = g.input('params', DType.FLOAT, [3]);
  const [dt, guidance, sigma] = g.nodeN('Split', [params, g.int64([1, 1, 1])], 3, { axis: 0 });
  let v: string;
  if (o.plan === 'single') {
    v = g.input('velocity', DType.FLOAT, LATENT_DIMS(1));
  } else {
    let u: string;
    let c: string;
    if (o.plan === 'batched') {
      const both = g.input('velocity', DType.FLOAT, LATENT_DIMS(2));
      [u, c] = g.nodeN('Split', [both, g.int64([1, 1])], 2, { axis: 0 }) as [string, string];
    } else {
      u = g.input('velocity_uncond', DType.FLOAT, LATENT_DIMS(1));
      c = g.input('velocity_cond', DType.FLOAT, LATENT_DIMS(1));
    }
    v = g.op('Add', [u, g.op('Mul', [guidance!, g.op('Sub', [c, u])])]);
  }
  // Outputs straight from their nodes: with an Identity before a graph output whose input another
  // node also reads, onnxruntime-web copied the latents to the CPU and back every step.
  const next = g.opToOutput('Add', [x, g.op('Mul', [dt!, v])], 'latents_out', DType.FLOAT, LATENT_DIMS(1));
  if (o.plan === 'batched') g.opToOutput('Concat', [next, next], 'model_input', DType.FLOAT, LATENT_DIMS(2), { axis: 0 });
  if (o.preview) {
    const x0 = g.op('Sub', [x, g.op('Mul', [sigma!, v])]);
    const rgb = previewProjection(g, x0, o.channels);
    g.output('preview_rgb', rgb, DType.FLOAT, [1, 3, 'height', 'width']);
  }
  return serialize(g);
}

/**
 * factors·x0 + bias over the latent channels (a 1×1 convolution; channels beyond the factor table
 * weigh 0, as in latentPreview), then (· + 1) / 2 · 255.
 */
function previewProjection(g: GraphBuilder, x0: string, C: number): string {
  const w = new Float32Array(3 * C);
  SD3_LATENT_RGB_FACTORS.slice(0, C).forEach((row, c) => row.forEach((f, k) => (w[k * C + c] = f)));
  const weight = g.weight('preview_factors', [3, C, 1, 1], w);
  const bias = g.weight('preview_bias', [3], Float32Array.from(SD3_LATENT_RGB_BIAS));
  const rgb = g.op('Conv', [x0, weight, bias], { kernel_shape: [1, 1] });
  return g.op('Mul', [g.op('Div', [g.op('Add', [rgb, g.float(1)]), g.float(2)]), g.float(255)]);
}

/** latents [1, C, h, w] → `latent_sample` = latents / scaling + shift (the VAE decoder's input). */
export function buildFinishGraph(scaling: number, shift: number): Uint8Array {
  const g = new GraphBuilder('finish', 0);
  const x = g.input('latents', DType.FLOAT, LATENT_DIMS(1));
  const z = g.op('Add', [g.op('Div', [x, g.float(scaling)]), g.float(shift)]);
  g.output('latent_sample', z, DType.FLOAT, LATENT_DIMS(1));
  return serialize(g);
}
