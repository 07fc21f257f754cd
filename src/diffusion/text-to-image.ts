/**
 * The SD3 text-to-image pipeline (diffusers' StableDiffusion3Pipeline.__call__), in numbered stages:
 * 1 encode prompts, 2 prepare latents, 3 schedule, 4 denoise, 5 decode.
 */
import { WebDiffusionError } from '../errors.js';
import type { Sd3Config } from '../models/sd3-config.js';
import type { ProgressEvent, StageTimings, TruncationReport } from '../protocol.js';
import type { ModelSession } from '../runtime/session-runner.js';
import { encodePrompts, type TextEncoders } from '../text/encode-prompt.js';
import { combineGuidance, guidanceEnabled, sampleToRgba, unscaleLatents } from './image-math.js';
import { latentPreview } from './latent-preview.js';
import { standardNormal } from './noise.js';
import { buildSchedule, eulerStep, stepCount } from './scheduler.js';
import type { ValidRequest } from './validate-request.js';
import { yieldToEventLoop } from './yield.js';

export interface Sd3Pipeline {
  config: Sd3Config;
  encoders: TextEncoders;
  transformer: ModelSession;
  vaeDecoder: ModelSession;
}

export interface PipelineHooks {
  onProgress?: (e: ProgressEvent) => void;
  /** Polled between stages and steps; true → the run stops with CANCELLED. */
  isCancelled?: () => boolean;
  /** Awaited before each check, so that a cancel message can arrive (default: a macrotask). */
  yieldControl?: () => Promise<void>;
  now?: () => number;
  /** Milliseconds spent inside session runs so far (for overhead accounting). */
  sessionMs?: () => number;
}

export interface PipelineImage {
  rgba: Uint8ClampedArray;
  width: number;
  height: number;
  seed: number;
  timings: StageTimings;
  truncated: TruncationReport[];
}

/** The initial latents for a seed: standard normal [1, C, H/8, W/8] (flow matching: no sigma scaling). */
export function initialLatents(config: Sd3Config, width: number, height: number, seed: number): { data: Float32Array; dims: number[] } {
  const f = config.vae.scaleFactor;
  const dims = [1, config.transformer.inChannels, height / f, width / f];
  return { data: standardNormal(seed, dims.reduce((a, b) => a * b, 1)), dims };
}

export async function textToImage(p: Sd3Pipeline, req: ValidRequest, hooks: PipelineHooks = {}): Promise<PipelineImage> {
  const now = hooks.now ?? (() => performance.now());
  const sessionMs = hooks.sessionMs ?? (() => 0);
  const yieldControl = hooks.yieldControl ?? yieldToEventLoop;
  const checkCancelled = async () => {
    await yieldControl();
    if (hooks.isCancelled?.()) throw new WebDiffusionError('CANCELLED', 'The generation was cancelled.', { details: { jobId: req.jobId } });
  };
  const t0 = now();
  const s0 = sessionMs();
  await checkCancelled();

  // 1. Encode prompts: [negative ; positive] under classifier-free guidance (diffusers batch order).
  hooks.onProgress?.({ phase: 'encoding', jobId: req.jobId });
  const cfg = guidanceEnabled(req.guidance);
  const prompts = cfg
    ? [{ text: req.negativePrompt, field: 'negativePrompt' as const }, { text: req.prompt, field: 'prompt' as const }]
    : [{ text: req.prompt, field: 'prompt' as const }];
  // Encoding [neg, pos] as one batch equals concatenating two encodings: rows are independent.
  const { embeddings: cond, truncated } = await encodePrompts(p.encoders, p.config, prompts);
  const t1 = now();
  await checkCancelled();

  // 2. Latents.
  const latents = initialLatents(p.config, req.width, req.height, req.seed);
  const batch = cfg ? 2 : 1;
  const perImage = latents.data.length;

  // 3. Schedule.
  const schedule = buildSchedule(req.steps, p.config.scheduler);
  const total = stepCount(schedule);

  // 4. Denoise.
  const modelInput = new Float32Array(perImage * batch);
  const timestep = new Float32Array(batch);
  const guided = cfg ? new Float32Array(perImage) : null; // reused every step
  const loopStart = now();
  for (let i = schedule.startIndex; i < schedule.timesteps.length; i++) {
    await checkCancelled();
    modelInput.set(latents.data);
    if (cfg) modelInput.set(latents.data, perImage);
    timestep.fill(schedule.timesteps[i]!);
    const out = await p.transformer.run(
      {
        hidden_states: { type: 'float32', data: modelInput, dims: [batch, ...latents.dims.slice(1)] },
        encoder_hidden_states: { type: 'float32', data: cond.embeds, dims: cond.embedsDims },
        pooled_projections: { type: 'float32', data: cond.pooled, dims: cond.pooledDims },
        timestep: { type: 'float32', data: timestep, dims: [batch] },
      },
      ['out_hidden_states'],
    );
    const v = out.out_hidden_states!.data;
    const velocity = guided ? combineGuidance(v, req.guidance, guided) : v;
    const [, channels, latentH, latentW] = latents.dims as [number, number, number, number];
    // The preview shows this step's denoised estimate x0 = x − σ·v, so it is taken before the update.
    const preview = req.preview
      ? { width: latentW, height: latentH, rgba: latentPreview(latents.data, velocity, schedule.sigmas[i]!, channels, latentH, latentW) }
      : undefined;
    eulerStep(schedule, i, latents.data, velocity, latents.data);
    const done = i - schedule.startIndex + 1;
    const elapsed = now() - loopStart;
    hooks.onProgress?.({
      phase: 'denoising',
      jobId: req.jobId,
      step: done,
      totalSteps: total,
      elapsedMs: elapsed,
      etaMs: (elapsed / done) * (total - done),
      ...(preview ? { preview } : {}),
    });
  }
  const t2 = now();
  await checkCancelled();

  // 5. Decode: z / scaling + shift → VAE → [0, 255].
  hooks.onProgress?.({ phase: 'decoding', jobId: req.jobId });
  const z = unscaleLatents(latents.data, p.config.vae.scalingFactor, p.config.vae.shiftFactor);
  const decoded = await p.vaeDecoder.run({ latent_sample: { type: 'float32', data: z, dims: latents.dims } }, ['sample']);
  const sample = decoded.sample!;
  const [, channels, outH, outW] = sample.dims;
  if (channels !== 3 || outH !== req.height || outW !== req.width) {
    throw new WebDiffusionError('MODEL_INVALID', `The VAE decoder returned [${sample.dims.join(', ')}], expected [1, 3, ${req.height}, ${req.width}].`, {
      details: { component: 'vae_decoder' },
    });
  }
  const rgba = sampleToRgba(sample.data, req.width, req.height);
  const t3 = now();
  return {
    rgba,
    width: req.width,
    height: req.height,
    seed: req.seed,
    truncated,
    timings: { encodeMs: t1 - t0, denoiseMs: t2 - t1, decodeMs: t3 - t2, totalMs: t3 - t0, sessionMs: sessionMs() - s0 },
  };
}
