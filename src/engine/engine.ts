/**
 * The generator engine: loads one model at a time and runs generation jobs one after another,
 * with cooperative cancellation by job id. It has no worker or DOM dependency: the worker wraps
 * it, and Node runs it directly against onnxruntime-node for the native reference.
 */
import { textToImage, type PipelineImage, type Sd3Pipeline } from '../diffusion/text-to-image.js';
import { validateRequest } from '../diffusion/validate-request.js';
import { toWebDiffusionError, WebDiffusionError } from '../errors.js';
import type { ModelSource } from '../models/model-source.js';
import { findModel } from '../models/registry.js';
import { sizeLimits } from '../models/sd3-config.js';
import type { TokenCount, TokenCounts } from '../protocol.js';
import type { PromptTokenizer } from '../text/tokenize.js';
import type { BackendInfo, BackendPreference, GenerateRequest, GenerateResult, LoadedModel, LoadRequest, ProgressEvent } from '../protocol.js';
import type { SessionRunner } from '../runtime/session-runner.js';
import { loadSd3Pipeline, releasePipeline, type LoadOptions } from './load-sd3.js';

export interface EngineDeps {
  createRuntime(preference: BackendPreference): Promise<{ runner: SessionRunner; backend: BackendInfo }>;
  sourceFor(baseUrl: string): ModelSource;
  /**
   * Check every file's sha256 against the pack's manifest while loading (default true). A source
   * that verified its files already (the weight store) may turn it off; sizes are always checked.
   */
  verifyHashes?: (baseUrl: string) => boolean;
  /**
   * Where a load reads the pack from once the backend is known: the weight store (installing the
   * pack first when it is missing, with 'downloading' progress). Without it, sourceFor(baseUrl).
   */
  prepareSource?: (
    request: LoadRequest,
    backend: BackendInfo,
    onProgress?: (e: ProgressEvent) => void,
  ) => Promise<{ source: ModelSource; verifyHashes: boolean }>;
  now?: () => number;
  /** Pipeline options for every load (static shapes, GPU-resident loop): switches for benchmarks. */
  loadOptions?: Pick<LoadOptions, 'staticShapes' | 'gpuResidentLoop'>;
}

interface Loaded {
  info: LoadedModel;
  pipeline: Sd3Pipeline;
  runner: SessionRunner;
}

export class GeneratorEngine {
  private loaded: Loaded | null = null;
  private loading: Promise<LoadedModel> | null = null;
  private jobs: Promise<unknown> = Promise.resolve();
  private readonly cancelled = new Set<string>();
  private readonly now: () => number;

  constructor(private readonly deps: EngineDeps) {
    this.now = deps.now ?? (() => performance.now());
  }

  get model(): LoadedModel | null {
    return this.loaded?.info ?? null;
  }

  async load(request: LoadRequest, onProgress?: (e: ProgressEvent) => void): Promise<LoadedModel> {
    const entry = findModel(request.modelId);
    if (!entry) {
      throw new WebDiffusionError('MODEL_UNKNOWN', `No model "${request.modelId}" is known.`, { details: { modelId: request.modelId } });
    }
    if (this.loading) await this.loading.catch(() => undefined);
    const task = (async () => {
      const t0 = this.now();
      await this.unload();
      const { runner, backend } = await this.deps.createRuntime(request.backend ?? 'auto');
      if (entry.requires.webgpu && backend.kind !== 'webgpu') {
        throw new WebDiffusionError('BACKEND_UNAVAILABLE', `${entry.name} needs WebGPU, which this browser does not offer.`, {
          hint: entry.requires.note ?? 'Use a browser with WebGPU.',
        });
      }
      // The pack's manifest decides what is loaded (the registry's variants are informational).
      const { source, verifyHashes } = this.deps.prepareSource
        ? await this.deps.prepareSource(request, backend, onProgress)
        : { source: this.deps.sourceFor(request.baseUrl), verifyHashes: this.deps.verifyHashes?.(request.baseUrl) ?? true };
      const { pipeline, manifest, variants, memory } = await loadSd3Pipeline(source, runner, {
        backend,
        onProgress,
        verifyHashes,
        memoryMode: request.memoryMode,
        ...(request.firstImage ? { firstImage: request.firstImage } : {}),
        ...this.deps.loadOptions,
      });
      const packRange = manifest.architecture.sampleSize;
      const info: LoadedModel = {
        modelId: entry.id,
        backend,
        variant: variants.transformer!,
        variants,
        hasT5: pipeline.config.hasT5,
        limits: sizeLimits(pipeline.config, { min: Math.max(entry.sideRange.min, packRange.min), max: Math.min(entry.sideRange.max, packRange.max) }),
        loadMs: this.now() - t0,
        memory: { mode: memory.mode, reason: memory.reason, weightBytes: memory.totalBytes },
      };
      this.loaded = { info, pipeline, runner };
      return info;
    })();
    this.loading = task;
    try {
      return await task;
    } catch (e) {
      throw toWebDiffusionError(e, 'RUNTIME_FAILED');
    } finally {
      if (this.loading === task) this.loading = null;
    }
  }

  /** Runs after earlier jobs; a job cancelled while queued never starts. */
  generate(request: GenerateRequest, onProgress?: (e: ProgressEvent) => void): Promise<GenerateResult<PipelineImage>> {
    const run = async (): Promise<GenerateResult<PipelineImage>> => {
      if (this.loading) await this.loading.catch(() => undefined);
      const loaded = this.loaded;
      if (!loaded) throw new WebDiffusionError('MODEL_NOT_LOADED', 'Load a model before generating.', { hint: 'Pick a model and wait until it is ready.' });
      const valid = validateRequest(request, loaded.info.limits);
      try {
        const image = await textToImage(loaded.pipeline, valid, {
          onProgress,
          isCancelled: () => this.cancelled.has(valid.jobId),
          now: this.now,
          sessionMs: () => loaded.runner.stats.runMs,
        });
        return {
          jobId: valid.jobId,
          image,
          width: image.width,
          height: image.height,
          seed: image.seed,
          steps: valid.steps,
          guidance: valid.guidance,
          timings: image.timings,
          backend: loaded.info.backend.kind,
          guidancePlan: image.guidancePlan,
          gpuResident: image.gpuResident,
          truncated: image.truncated,
        };
      } finally {
        this.cancelled.delete(valid.jobId);
      }
    };
    const job = this.jobs.then(run, run);
    this.jobs = job.catch(() => undefined);
    return job.catch((e) => {
      throw toWebDiffusionError(e, 'RUNTIME_FAILED');
    });
  }

  async cancel(jobId: string): Promise<void> {
    this.cancelled.add(jobId);
  }

  /** Token use of `text` per encoder of the loaded model, for live counters. */
  async countTokens(text: string): Promise<TokenCounts> {
    const loaded = this.loaded;
    if (!loaded) throw new WebDiffusionError('MODEL_NOT_LOADED', 'Load a model before counting tokens.');
    const count = (t: PromptTokenizer): TokenCount => {
      const r = t.encode(text);
      return { count: r.tokenCount, max: t.maxLength, droppedText: r.droppedText };
    };
    const { tokenizers } = loaded.pipeline;
    return { clip: count(tokenizers.clipL), t5: tokenizers.t5 ? count(tokenizers.t5) : null };
  }

  async unload(): Promise<void> {
    const loaded = this.loaded;
    this.loaded = null;
    if (loaded) await releasePipeline(loaded.pipeline);
  }
}
