/**
 * The SD3 text-to-image pipeline (diffusers' StableDiffusion3Pipeline.__call__), in numbered stages:
 * 1 encode prompts, 2 prepare latents, 3 schedule, 4 denoise, 5 decode.
 */
import { WebDiffusionError } from '../errors.js';
import type { Sd3Config } from '../models/sd3-config.js';
import type { GuidancePlan, MemoryMode, ModelComponent, PreviewImage, ProgressEvent, StageTimings, TruncationReport } from '../protocol.js';
import type { Feed, ModelSession } from '../runtime/session-runner.js';
import { encodePrompts, type PromptInput } from '../text/encode-prompt.js';
import type { PromptEmbeddings } from '../text/prompt-embeddings.js';
import type { PromptTokenizer } from '../text/tokenize.js';
import { denoiseOnGpu, type StepGraphs } from './gpu-loop.js';
import { combineGuidance, guidanceEnabled, sampleToRgba, unscaleLatents } from './image-math.js';
import { latentPreview } from './latent-preview.js';
import { standardNormal } from './noise.js';
import { buildSchedule, eulerStep, stepCount, type Schedule } from './scheduler.js';
import type { ValidRequest } from './validate-request.js';
import { yieldToEventLoop } from './yield.js';

/** Input name → dims a session will be fed (its symbolic axes are pinned to them). */
export type SessionShapes = Readonly<Record<string, readonly number[]>>;

/** The pipeline's sessions, loaded on demand (memory modes) and pinned to the shapes they are fed. */
export interface PipelineSessions {
  get(component: ModelComponent, shapes?: SessionShapes): Promise<ModelSession>;
  release(components: readonly ModelComponent[]): Promise<void>;
  releaseAll(): Promise<void>;
}

export interface GpuLoopSupport {
  graphs: StepGraphs;
  /** Guidance as one batch-2 run or two batch-1 runs, for this image size (from the GPU's limits). */
  guidancePlan(width: number, height: number): 'batched' | 'split';
}

export interface Sd3Pipeline {
  config: Sd3Config;
  tokenizers: { clipL: PromptTokenizer; clipG: PromptTokenizer; t5: PromptTokenizer | null };
  sessions: PipelineSessions;
  memoryMode: MemoryMode;
  /** Present on WebGPU: the denoising loop keeps its tensors on the GPU. Absent: the CPU loop. */
  gpu?: GpuLoopSupport;
  /** Embeddings of recent prompts (batch 1 each), so that repeated prompts skip the text encoders. */
  promptCache: PromptCache;
}

export const TEXT_ENCODERS: readonly ModelComponent[] = ['text_encoder', 'text_encoder_2', 'text_encoder_3'];

/** The shapes each component is fed for a request (batch = transformer batch rows per run). */
export function componentShapes(config: Sd3Config, width: number, height: number, batch: number): Record<'text_encoder' | 'text_encoder_2' | 'text_encoder_3' | 'transformer' | 'vae_decoder', SessionShapes> {
  const f = config.vae.scaleFactor;
  const latent = [config.transformer.inChannels, height / f, width / f];
  const t = config.transformer;
  return {
    text_encoder: { input_ids: [1, config.clipLength] },
    text_encoder_2: { input_ids: [1, config.clipLength] },
    text_encoder_3: { input_ids: [1, config.t5Length] },
    transformer: {
      hidden_states: [batch, ...latent],
      encoder_hidden_states: [batch, config.clipLength + config.t5Length, t.jointAttentionDim],
      pooled_projections: [batch, t.pooledProjectionDim],
      timestep: [batch],
    },
    vae_decoder: { latent_sample: [1, config.vae.latentChannels, height / f, width / f] },
  };
}

interface CachedPrompt {
  embeddings: PromptEmbeddings;
  /** Truncation reports as for the field 'prompt'. */
  truncated: TruncationReport[];
}

/** The last few prompts' embeddings (each batch 1, ≈5 MiB for SD3.5), most recent last. */
export class PromptCache {
  private readonly entries = new Map<string, CachedPrompt>();
  constructor(private readonly capacity = 4) {}
  get(text: string): CachedPrompt | undefined {
    const hit = this.entries.get(text);
    if (hit) {
      this.entries.delete(text);
      this.entries.set(text, hit);
    }
    return hit;
  }
  set(text: string, value: CachedPrompt): void {
    this.entries.delete(text);
    this.entries.set(text, value);
    while (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }
  clear(): void {
    this.entries.clear();
  }
}

/** Rows of batch-1 embeddings stacked into one batch (the [negative ; positive] order is the caller's). */
export function stackEmbeddings(rows: readonly PromptEmbeddings[]): PromptEmbeddings {
  const first = rows[0]!;
  const embeds = new Float32Array(rows.length * first.embeds.length);
  const pooled = new Float32Array(rows.length * first.pooled.length);
  rows.forEach((r, i) => {
    embeds.set(r.embeds, i * first.embeds.length);
    pooled.set(r.pooled, i * first.pooled.length);
  });
  return {
    embeds,
    embedsDims: [rows.length, first.embedsDims[1], first.embedsDims[2]],
    pooled,
    pooledDims: [rows.length, first.pooledDims[1]],
  };
}

/**
 * Encodes each prompt on its own (batch 1: rows are independent, so this equals diffusers' batch),
 * reusing cached embeddings; loads the text encoders only when some prompt is not cached.
 */
async function encodeWithCache(p: Sd3Pipeline, prompts: PromptInput[], width: number, height: number): Promise<{ rows: PromptEmbeddings[]; truncated: TruncationReport[] }> {
  const shapes = componentShapes(p.config, width, height, 1);
  const rows: PromptEmbeddings[] = [];
  const truncated: TruncationReport[] = [];
  for (const prompt of prompts) {
    let hit = p.promptCache.get(prompt.text);
    if (!hit) {
      const encoders = {
        clipL: { tokenizer: p.tokenizers.clipL, session: await p.sessions.get('text_encoder', shapes.text_encoder) },
        clipG: { tokenizer: p.tokenizers.clipG, session: await p.sessions.get('text_encoder_2', shapes.text_encoder_2) },
        t5: p.tokenizers.t5 ? { tokenizer: p.tokenizers.t5, session: await p.sessions.get('text_encoder_3', shapes.text_encoder_3) } : null,
      };
      const r = await encodePrompts(encoders, p.config, [{ text: prompt.text, field: 'prompt' }]);
      hit = { embeddings: r.embeddings, truncated: r.truncated };
      p.promptCache.set(prompt.text, hit);
    }
    rows.push(hit.embeddings);
    truncated.push(...hit.truncated.map((t) => ({ ...t, field: prompt.field })));
  }
  return { rows, truncated };
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
  guidancePlan: GuidancePlan;
  gpuResident: boolean;
}

/** The initial latents for a seed: standard normal [1, C, H/8, W/8] (flow matching: no sigma scaling). */
export function initialLatents(config: Sd3Config, width: number, height: number, seed: number): { data: Float32Array; dims: number[] } {
  const f = config.vae.scaleFactor;
  const dims = [1, config.transformer.inChannels, height / f, width / f];
  return { data: standardNormal(seed, dims.reduce((a, b) => a * b, 1)), dims };
}

export async function textToImage(p: Sd3Pipeline, req: ValidRequest, hooks: PipelineHooks = {}): Promise<PipelineImage> {
  try {
    return await runTextToImage(p, req, hooks);
  } finally {
    // Low memory: nothing stays loaded between images, also after a cancel or an error.
    if (p.memoryMode === 'low-memory') await p.sessions.releaseAll();
  }
}

async function runTextToImage(p: Sd3Pipeline, req: ValidRequest, hooks: PipelineHooks): Promise<PipelineImage> {
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
  const prompts: PromptInput[] = cfg
    ? [{ text: req.negativePrompt, field: 'negativePrompt' }, { text: req.prompt, field: 'prompt' }]
    : [{ text: req.prompt, field: 'prompt' }];
  const encoded = await encodeWithCache(p, prompts, req.width, req.height);
  const cond = stackEmbeddings(encoded.rows);
  const truncated = encoded.truncated;
  if (p.memoryMode === 'low-memory') await p.sessions.release(TEXT_ENCODERS);
  const t1 = now();
  await checkCancelled();

  // 2. Latents. 3. Schedule.
  const latents = initialLatents(p.config, req.width, req.height, req.seed);
  const schedule = buildSchedule(req.steps, p.config.scheduler);
  const total = stepCount(schedule);
  const plan: GuidancePlan = !cfg ? 'single' : p.gpu ? p.gpu.guidancePlan(req.width, req.height) : 'batched';
  const shapes = componentShapes(p.config, req.width, req.height, plan === 'batched' ? 2 : 1);

  // 4. Denoise.
  const transformer = await p.sessions.get('transformer', shapes.transformer);
  const loopStart = now();
  const onStep = (i: number, preview?: PreviewImage) => {
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
  };
  let vaeInput: Feed;
  if (p.gpu) {
    vaeInput = await denoiseOnGpu({
      transformer,
      graphs: p.gpu.graphs,
      plan,
      cond,
      latents,
      schedule,
      guidance: req.guidance,
      preview: req.preview,
      vae: p.config.vae,
      checkCancelled,
      onStep,
    });
  } else {
    await denoiseOnCpu(transformer, cond, latents, schedule, req, cfg, checkCancelled, onStep);
    vaeInput = { type: 'float32', data: unscaleLatents(latents.data, p.config.vae.scalingFactor, p.config.vae.shiftFactor), dims: latents.dims };
  }
  try {
    if (p.memoryMode === 'low-memory') await p.sessions.release(['transformer']);
    const t2 = now();
    await checkCancelled();

    // 5. Decode: z / scaling + shift → VAE → [0, 255].
    hooks.onProgress?.({ phase: 'decoding', jobId: req.jobId });
    const vae = await p.sessions.get('vae_decoder', shapes.vae_decoder);
    const decoded = await vae.run({ latent_sample: vaeInput }, ['sample']);
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
      guidancePlan: plan,
      gpuResident: Boolean(p.gpu),
      timings: { encodeMs: t1 - t0, denoiseMs: t2 - t1, decodeMs: t3 - t2, totalMs: t3 - t0, sessionMs: sessionMs() - s0 },
    };
  } finally {
    if ('location' in vaeInput) vaeInput.dispose();
  }
}

/** The loop on CPU arrays (WebAssembly): one batch-2 run per step under guidance, combine and Euler step in JS. */
async function denoiseOnCpu(
  transformer: ModelSession,
  cond: PromptEmbeddings,
  latents: { data: Float32Array; dims: number[] },
  schedule: Schedule,
  req: ValidRequest,
  cfg: boolean,
  checkCancelled: () => Promise<void>,
  onStep: (i: number, preview?: PreviewImage) => void,
): Promise<void> {
  const batch = cfg ? 2 : 1;
  const perImage = latents.data.length;
  const modelInput = new Float32Array(perImage * batch);
  const timestep = new Float32Array(batch);
  const guided = cfg ? new Float32Array(perImage) : null; // reused every step
  const [, channels, latentH, latentW] = latents.dims as [number, number, number, number];
  for (let i = schedule.startIndex; i < schedule.timesteps.length; i++) {
    await checkCancelled();
    modelInput.set(latents.data);
    if (cfg) modelInput.set(latents.data, perImage);
    timestep.fill(schedule.timesteps[i]!);
    const out = await transformer.run(
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
    // The preview shows this step's denoised estimate x0 = x − σ·v, so it is taken before the update.
    const preview = req.preview
      ? { width: latentW, height: latentH, rgba: latentPreview(latents.data, velocity, schedule.sigmas[i]!, channels, latentH, latentW) }
      : undefined;
    eulerStep(schedule, i, latents.data, velocity, latents.data);
    onStep(i, preview);
  }
}
