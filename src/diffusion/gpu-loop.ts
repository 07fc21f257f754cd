/**
 * The denoising loop with every tensor in GPU buffers (WebGPU): the prompt embeddings and the initial
 * latents are uploaded once per generation; each step runs the transformer and the step graph
 * (guidance combine + Euler update, src/onnx/step-graphs.ts) on GPU tensors. The only per-step
 * writes are the timestep and the [dt, guidance, sigma] scalars; the only read-back is the
 * latent-resolution preview, when previews are on. Every GPU tensor is disposed when the loop ends,
 * also on cancel or error.
 */
import { WebDiffusionError } from '../errors.js';
import { buildFinishGraph, buildStepGraph, buildUploadGraph, stepGraphNames } from '../onnx/step-graphs.js';
import type { GuidancePlan, PreviewImage } from '../protocol.js';
import type { DeviceTensor, Feed, ModelSession, SessionRunner } from '../runtime/session-runner.js';
import type { PromptEmbeddings } from '../text/prompt-embeddings.js';
import { previewPlanesToRgba } from './latent-preview.js';
import type { Schedule } from './scheduler.js';

const f32 = Math.fround;

/** The step graphs' sessions, created on first use and kept until release (they are a few hundred bytes). */
export class StepGraphs {
  private readonly sessions = new Map<string, Promise<ModelSession>>();

  constructor(private readonly runner: SessionRunner) {}

  private session(key: string, build: () => Uint8Array, outputsOnDevice: readonly string[] | 'all'): Promise<ModelSession> {
    let s = this.sessions.get(key);
    if (!s) {
      s = this.runner.createSession(`${key.split(':')[0]} graph`, build(), [], { outputsOnDevice });
      this.sessions.set(key, s);
      s.catch(() => this.sessions.delete(key));
    }
    return s;
  }

  upload(inputs: readonly { name: string; rank: number }[]): Promise<ModelSession> {
    const key = `upload:${inputs.map((i) => `${i.name}/${i.rank}`).join(',')}`;
    return this.session(key, () => buildUploadGraph(inputs), 'all');
  }

  step(plan: GuidancePlan, preview: boolean, channels: number): Promise<ModelSession> {
    const onDevice = stepGraphNames({ plan, preview, channels }).outputs.filter((n) => n !== 'preview_rgb');
    return this.session(`step:${plan}:${preview}:${channels}`, () => buildStepGraph({ plan, preview, channels }), onDevice);
  }

  finish(scaling: number, shift: number): Promise<ModelSession> {
    return this.session(`finish:${scaling}:${shift}`, () => buildFinishGraph(scaling, shift), 'all');
  }

  async release(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map((s) => s.then((x) => x.release(), () => undefined)));
  }
}

/** One batch row [1, …] of a batch-2 array. */
function row(data: Float32Array, dims: readonly number[], index: number): { data: Float32Array; dims: number[] } {
  const per = data.length / dims[0]!;
  return { data: data.subarray(index * per, (index + 1) * per), dims: [1, ...dims.slice(1)] };
}

export interface GpuLoopInput {
  transformer: ModelSession;
  graphs: StepGraphs;
  plan: GuidancePlan;
  /** [uncond ; cond] rows under guidance, one row without. */
  cond: PromptEmbeddings;
  /** Initial latents [1, C, h, w]. */
  latents: { data: Float32Array; dims: number[] };
  schedule: Schedule;
  guidance: number;
  preview: boolean;
  vae: { scalingFactor: number; shiftFactor: number };
  /** Before each step: yields and throws CANCELLED when asked to stop. */
  checkCancelled: () => Promise<void>;
  /** After each step, with its preview when previews are on. */
  onStep: (index: number, preview?: PreviewImage) => void;
}

/**
 * Runs the loop and returns the VAE decoder's input (latents / scaling + shift) as a GPU tensor;
 * the caller disposes it after decoding.
 */
export async function denoiseOnGpu(input: GpuLoopInput): Promise<DeviceTensor> {
  const { transformer, graphs, plan, cond, schedule } = input;
  const [, channels, latentH, latentW] = input.latents.dims as [number, number, number, number];
  const live = new Set<DeviceTensor>();
  const own = <T extends Record<string, DeviceTensor>>(r: T): T => {
    for (const t of Object.values(r)) live.add(t);
    return r;
  };
  const drop = (...ts: (DeviceTensor | undefined)[]) => {
    for (const t of ts) {
      if (t && live.delete(t)) t.dispose();
    }
  };
  try {
    // Once per generation: embeddings, pooled vectors and the initial latents into GPU buffers.
    const uploads: Record<string, { data: Float32Array; dims: readonly number[] }> = { latents: input.latents };
    if (plan === 'split') {
      uploads.embeds_uncond = row(cond.embeds, cond.embedsDims, 0);
      uploads.embeds_cond = row(cond.embeds, cond.embedsDims, 1);
      uploads.pooled_uncond = row(cond.pooled, cond.pooledDims, 0);
      uploads.pooled_cond = row(cond.pooled, cond.pooledDims, 1);
    } else {
      uploads.embeds = { data: cond.embeds, dims: cond.embedsDims };
      uploads.pooled = { data: cond.pooled, dims: cond.pooledDims };
    }
    if (plan === 'batched') {
      const both = new Float32Array(input.latents.data.length * 2);
      both.set(input.latents.data);
      both.set(input.latents.data, input.latents.data.length);
      uploads.model_input = { data: both, dims: [2, ...input.latents.dims.slice(1)] };
    }
    const names = Object.keys(uploads);
    const upload = await graphs.upload(names.map((name) => ({ name, rank: uploads[name]!.dims.length })));
    const feeds: Record<string, Feed> = {};
    for (const name of names) feeds[name] = { type: 'float32', data: uploads[name]!.data, dims: uploads[name]!.dims };
    const gpu = own(await upload.runOnDevice(feeds, names.map((n) => `${n}_out`)));
    const at = (name: string) => gpu[`${name}_out`]!;
    let latents = at('latents');
    let modelInput = plan === 'batched' ? at('model_input') : undefined;

    const stepSession = await graphs.step(plan, input.preview, channels);
    const { outputs } = stepGraphNames({ plan, preview: input.preview, channels });
    const batch = plan === 'batched' ? 2 : 1;
    const timestep = new Float32Array(batch);
    const params = new Float32Array(3);
    const velocity = async (x: DeviceTensor, embeds: DeviceTensor, pooled: DeviceTensor): Promise<DeviceTensor> => {
      const r = own(
        await transformer.runOnDevice(
          { hidden_states: x, encoder_hidden_states: embeds, pooled_projections: pooled, timestep: { type: 'float32', data: timestep, dims: [batch] } },
          ['out_hidden_states'],
        ),
      );
      return r.out_hidden_states!;
    };

    for (let i = schedule.startIndex; i < schedule.timesteps.length; i++) {
      await input.checkCancelled();
      timestep.fill(schedule.timesteps[i]!);
      const s0 = schedule.sigmas[i]!;
      params[0] = f32(schedule.sigmas[i + 1]! - s0);
      params[1] = input.guidance;
      params[2] = s0;
      const stepFeeds: Record<string, Feed> = { latents, params: { type: 'float32', data: params, dims: [3] } };
      const used: DeviceTensor[] = [];
      if (plan === 'batched') {
        const v = await velocity(modelInput!, at('embeds'), at('pooled'));
        stepFeeds.velocity = v;
        used.push(v);
      } else if (plan === 'split') {
        const u = await velocity(latents, at('embeds_uncond'), at('pooled_uncond'));
        const c = await velocity(latents, at('embeds_cond'), at('pooled_cond'));
        stepFeeds.velocity_uncond = u;
        stepFeeds.velocity_cond = c;
        used.push(u, c);
      } else {
        const v = await velocity(latents, at('embeds'), at('pooled'));
        stepFeeds.velocity = v;
        used.push(v);
      }
      const next = own(await stepSession.runOnDevice(stepFeeds, outputs));
      drop(latents, modelInput, ...used);
      latents = next.latents_out!;
      modelInput = next.model_input;
      let preview: PreviewImage | undefined;
      if (next.preview_rgb) {
        live.delete(next.preview_rgb);
        const planes = await stepSession.readFloats(next.preview_rgb);
        preview = { width: latentW, height: latentH, rgba: previewPlanesToRgba(planes.data, latentH, latentW) };
      }
      input.onStep(i, preview);
    }
    drop(modelInput);
    const finish = await graphs.finish(input.vae.scalingFactor, input.vae.shiftFactor);
    const z = (await finish.runOnDevice({ latents }, ['latent_sample'])).latent_sample!;
    drop(latents);
    return z;
  } catch (e) {
    throw e instanceof WebDiffusionError ? e : new WebDiffusionError('RUNTIME_FAILED', `The GPU denoising loop failed: ${e instanceof Error ? e.message : e}`, { cause: e });
  } finally {
    for (const t of live) t.dispose();
    live.clear();
  }
}
