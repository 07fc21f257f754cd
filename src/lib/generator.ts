/**
 * createGenerator(): text to image for pages that bring their own UI. The generator runs in the
 * shared worker (see worker-host.ts); the page side never loads onnxruntime.
 */
import { toWebDiffusionError, WebDiffusionError } from '../errors.js';
import { findModel, type ModelEntry } from '../models/registry.js';
import type { BackendKind, BackendPreference, LoadedModel, PreviewImage, ProgressEvent, StageTimings, TruncationReport } from '../protocol.js';
import { packFolderUrl } from './pack-url.js';
import { modelDefaults, resolveParams, type GenerateParams } from './params.js';
import { pngWithParameters } from './png.js';
import { describeProgress, progressFraction } from './progress.js';
import { cancelled, leaseHost, unlessAborted, type ModelTarget } from './worker-host.js';

/** A licence that must be accepted before the model's first download (Stability AI Community License). */
export interface ModelLicense {
  modelId: string;
  modelName: string;
  name: string;
  url: string;
}

export interface GeneratorOptions {
  /** A model id of the registry: "tiny-sd3" (the demo), "sd35-medium", … */
  model: string;
  /**
   * The folder that holds the model packs: the pack is `<baseUrl><model>/pack.json`. Relative URLs
   * resolve against the page. Default: the registry's own path (`models/<model>/` for the demo).
   */
  baseUrl?: string;
  /** Default "auto": WebGPU when the browser has an adapter, else WebAssembly. */
  backend?: BackendPreference;
  /**
   * Called before the first download of a model whose licence must be accepted; resolve true when
   * the person accepted it. Without it such a model is refused (LICENSE_NOT_ACCEPTED).
   */
  acceptLicense?: (license: ModelLicense) => boolean | Promise<boolean>;
}

/** A progress event with its fraction of the current phase (0…1, null: unknown) and a line of text. */
export type GeneratorProgress = ProgressEvent & { fraction: number | null; message: string };

export interface CallOptions {
  /** Aborting it stops the download (what arrived is kept) or the generation at its next step. */
  signal?: AbortSignal;
  onProgress?: (progress: GeneratorProgress) => void;
}

export interface GenerateOptions extends GenerateParams, CallOptions {
  /** Send a small preview of the image with every denoising step (`progress.preview`). */
  preview?: boolean;
}

/** The settings an image was made with: generating again with them gives the same image on the same backend. */
export interface ImageParameters {
  model: string;
  prompt: string;
  negativePrompt: string;
  width: number;
  height: number;
  steps: number;
  guidance: number;
  seed: number;
}

export interface GeneratedImage {
  /** The image as a PNG file, with its settings in a "parameters" text chunk. */
  blob: Blob;
  /** The image, ready to draw on a canvas; close() it when done. */
  bitmap: ImageBitmap;
  params: ImageParameters;
  backend: BackendKind;
  timings: StageTimings;
  /** Prompts longer than an encoder takes, with the words that were dropped. */
  truncated: TruncationReport[];
}

export interface ModelInfo {
  id: string;
  name: string;
  description: string;
  license: { name: string; url: string; mustAccept: boolean };
  /** The model's recommended settings, used for what a generate() call leaves out. */
  defaults: { width: number; height: number; steps: number; guidance: number };
}

export interface Generator {
  readonly model: ModelInfo;
  /** Where the pack is downloaded from (null: only a pack already in this browser's store can load). */
  readonly packUrl: string | null;
  /** Downloads the model when needed and loads it, ahead of the first generate(). */
  load(options?: CallOptions): Promise<LoadedModel>;
  generate(options: GenerateOptions): Promise<GeneratedImage>;
  /** Stops this generator's work and lets the shared worker go when no other generator uses it. */
  dispose(): void;
}

export type { PreviewImage };

function modelInfo(entry: ModelEntry): ModelInfo {
  return {
    id: entry.id,
    name: entry.name,
    description: entry.description,
    license: { name: entry.license.name, url: entry.license.url, mustAccept: entry.license.mustAccept === true },
    defaults: modelDefaults(entry),
  };
}

/** A signal that aborts when any of `signals` does. */
function anySignal(signals: (AbortSignal | undefined)[]): AbortSignal {
  const list = signals.filter((s): s is AbortSignal => s !== undefined);
  if (typeof AbortSignal.any === 'function') return AbortSignal.any(list);
  const controller = new AbortController();
  for (const s of list) {
    if (s.aborted) controller.abort(s.reason);
    else s.addEventListener('abort', () => controller.abort(s.reason), { once: true });
  }
  return controller.signal;
}

/** The caller's progress callback, given fraction and text, and silent once `signal` has aborted. */
const withText = (onProgress: CallOptions['onProgress'], signal: AbortSignal) =>
  onProgress
    ? (e: ProgressEvent) => {
        if (!signal.aborted) onProgress({ ...e, fraction: progressFraction(e), message: describeProgress(e) } as GeneratorProgress);
      }
    : undefined;

export function createGenerator(options: GeneratorOptions): Generator {
  const entry = findModel(options?.model);
  if (!entry) {
    throw new WebDiffusionError('MODEL_UNKNOWN', `No model "${String(options?.model)}" is known.`, {
      hint: 'Use a model id such as "tiny-sd3" (the demo) or "sd35-medium".',
      details: { modelId: options?.model },
    });
  }
  const pageUrl = typeof document !== 'undefined' ? document.baseURI : globalThis.location.href;
  const target: ModelTarget = { modelId: entry.id, packUrl: packFolderUrl(entry, options.baseUrl, pageUrl), backend: options.backend ?? 'auto' };
  const info = modelInfo(entry);
  const lease = leaseHost();
  const disposed = new AbortController();

  const beforeInstall = async () => {
    if (!info.license.mustAccept) return;
    const license: ModelLicense = { modelId: entry.id, modelName: entry.name, name: entry.license.name, url: entry.license.url };
    if (!(await options.acceptLicense?.(license))) {
      throw new WebDiffusionError('LICENSE_NOT_ACCEPTED', `${entry.name} was not downloaded: its licence (${entry.license.name}) was not accepted.`, {
        hint: `Read ${entry.license.url}; the model downloads once it is accepted.`,
        details: { modelId: entry.id, license: entry.license.url },
      });
    }
  };

  /** Runs `task` on the shared worker; it rejects at once when the caller's signal or dispose() aborts. */
  async function run<T>(what: string, signal: AbortSignal | undefined, task: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (disposed.signal.aborted) throw new WebDiffusionError('INVALID_REQUEST', 'This generator was disposed.', { hint: 'Create a new one with createGenerator().' });
    const combined = anySignal([signal, disposed.signal]);
    const host = lease.host;
    try {
      return await unlessAborted(host.exclusive(combined, what, () => task(combined)), combined, what);
    } catch (e) {
      throw combined.aborted ? cancelled(what) : toWebDiffusionError(e);
    }
  }

  return {
    model: info,
    packUrl: target.packUrl,

    load(call: CallOptions = {}) {
      return run('load', call.signal, (signal) => lease.host.ensureLoaded(target, { signal, onProgress: withText(call.onProgress, signal), beforeInstall }));
    },

    async generate(call: GenerateOptions) {
      const p = resolveParams(entry, call);
      return run('generation', call.signal, async (signal) => {
        const host = lease.host;
        const onProgress = withText(call.onProgress, signal);
        await host.ensureLoaded(target, { signal, onProgress, beforeInstall, firstImage: { width: p.width, height: p.height, guidance: p.guidance } });
        const result = await host.client.generate({ ...p, preview: call.preview === true }, { signal, onProgress });
        const params: ImageParameters = {
          model: entry.id,
          prompt: p.prompt,
          negativePrompt: p.negativePrompt,
          width: result.width,
          height: result.height,
          steps: result.steps,
          guidance: result.guidance,
          seed: result.seed,
        };
        const blob = await pngWithParameters(result.image, { ...params, modelId: entry.id });
        return { blob, bitmap: result.image, params, backend: result.backend, timings: result.timings, truncated: result.truncated };
      });
    },

    dispose() {
      if (disposed.signal.aborted) return;
      disposed.abort();
      lease.release();
    },
  };
}
