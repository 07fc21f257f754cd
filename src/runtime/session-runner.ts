/**
 * Sessions and runs over an onnxruntime module handed in by the caller (onnxruntime-web in the
 * worker, onnxruntime-node for the native reference), so one code path serves both. Creation and
 * runs are serialized (one at a time, as transformers.js' backends/onnx.js does); feeds are checked
 * against the graph's input names before anything reaches the runtime.
 */
import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { WebDiffusionError } from '../errors.js';

/** The part of an onnxruntime module this project uses (both ORT packages satisfy it). */
export interface OrtModule {
  InferenceSession: { create(model: Uint8Array, options?: InferenceSession.SessionOptions): Promise<InferenceSession> };
  Tensor: typeof Tensor;
}

export type TensorData =
  | { type: 'float32'; data: Float32Array; dims: readonly number[] }
  | { type: 'int64'; data: BigInt64Array; dims: readonly number[] };

/**
 * A tensor as onnxruntime holds it: on the CPU, or in a GPU buffer (`location === 'gpu-buffer'`) when
 * the session keeps its outputs on the GPU. Whoever receives one from runOnDevice owns it and disposes it.
 */
export type DeviceTensor = Tensor;

/** A feed: CPU data (converted and released by the runner) or a tensor the caller owns (kept). */
export type Feed = TensorData | DeviceTensor;

const isDeviceTensor = (f: Feed): f is DeviceTensor => 'location' in f;

export interface FloatOutput {
  data: Float32Array;
  dims: number[];
}

export interface ExternalDataFile {
  /** The `location` string recorded in the graph, e.g. "model.onnx_data". */
  path: string;
  data: Uint8Array;
}

export interface RunStats {
  runs: number;
  /** Total milliseconds spent inside session runs (including input/output conversion). */
  runMs: number;
}

type Clock = () => number;

export class SessionRunner {
  private queue: Promise<unknown> = Promise.resolve();
  readonly stats: RunStats = { runs: 0, runMs: 0 };

  constructor(
    private readonly ort: OrtModule,
    private readonly options: InferenceSession.SessionOptions,
    private readonly now: Clock = () => performance.now(),
    /** Returns (and clears) a backend error reported out of band during the last run, e.g. a WebGPU validation error. */
    private readonly takeBackendError: () => string | undefined = () => undefined,
    /**
     * 'gpu': sessions may keep outputs in GPU buffers (createSession's `outputsOnDevice`), so the
     * denoising loop can stay on the GPU; 'cpu': every output is CPU data.
     */
    readonly device: 'gpu' | 'cpu' = 'cpu',
  ) {}

  /** The session options every session gets (for benchmarks and diagnostics). */
  get sessionOptions(): Readonly<InferenceSession.SessionOptions> {
    return this.options;
  }

  /** @internal Used by ModelSession after each run. */
  backendError(): string | undefined {
    return this.takeBackendError();
  }

  /** Runs `task` after every earlier task has settled. */
  private serialize<T>(task: () => Promise<T>): Promise<T> {
    const next = this.queue.then(task, task);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * Creates a session. `extra` adds options for this one session (freeDimensionOverrides, say);
   * `outputsOnDevice` lists outputs to keep in GPU buffers on a 'gpu' runner ('all' for every one).
   */
  createSession(
    name: string,
    model: Uint8Array,
    externalData: ExternalDataFile[],
    extra: { options?: InferenceSession.SessionOptions; outputsOnDevice?: readonly string[] | 'all' } = {},
  ): Promise<ModelSession> {
    return this.serialize(async () => {
      try {
        const onDevice = this.device === 'gpu' ? extra.outputsOnDevice : undefined;
        const session = await this.ort.InferenceSession.create(model, {
          ...this.options,
          ...extra.options,
          ...(onDevice === 'all'
            ? { preferredOutputLocation: 'gpu-buffer' as const }
            : onDevice?.length
              ? { preferredOutputLocation: Object.fromEntries(onDevice.map((n) => [n, 'gpu-buffer' as const])) }
              : {}),
          externalData: externalData.map((f) => ({ path: f.path, data: f.data })),
        });
        return new ModelSession(name, session, this);
      } catch (e) {
        throw new WebDiffusionError('RUNTIME_FAILED', `Could not create the ${name} session: ${e instanceof Error ? e.message : e}`, {
          hint: 'The model file may be damaged or need an operator this backend lacks. Try reloading, or the other backend.',
          details: { component: name },
          cause: e,
        });
      }
    });
  }

  /** @internal Used by ModelSession. */
  runSerialized<T>(task: () => Promise<T>): Promise<T> {
    return this.serialize(async () => {
      const t0 = this.now();
      try {
        return await task();
      } finally {
        this.stats.runs++;
        this.stats.runMs += this.now() - t0;
      }
    });
  }

  makeTensor(t: TensorData): Tensor {
    return new this.ort.Tensor(t.type, t.data, t.dims);
  }
}

export class ModelSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  private released = false;

  constructor(
    readonly name: string,
    private readonly session: InferenceSession,
    private readonly runner: SessionRunner,
  ) {
    this.inputNames = session.inputNames;
    this.outputNames = session.outputNames;
  }

  /** Names that `feeds` misses or adds, compared to the graph's inputs; throws FEED_MISMATCH. */
  checkFeeds(feeds: Record<string, Feed>): void {
    const given = Object.keys(feeds);
    const missing = this.inputNames.filter((n) => !given.includes(n));
    const extra = given.filter((n) => !this.inputNames.includes(n));
    if (missing.length || extra.length) {
      throw new WebDiffusionError(
        'FEED_MISMATCH',
        `The ${this.name} graph expects inputs [${this.inputNames.join(', ')}]` +
          (missing.length ? `; missing: ${missing.join(', ')}` : '') +
          (extra.length ? `; not in the graph: ${extra.join(', ')}` : ''),
        { hint: 'The model files do not follow the SD3 ONNX interface this app expects.', details: { component: this.name, missing, extra } },
      );
    }
  }

  private checkFetches(fetches: readonly string[] | undefined): void {
    const unknown = (fetches ?? []).filter((n) => !this.outputNames.includes(n));
    if (unknown.length) {
      throw new WebDiffusionError('MODEL_INVALID', `The ${this.name} graph has no output ${unknown.join(', ')}.`, {
        details: { component: this.name, outputs: this.outputNames, requested: unknown },
      });
    }
  }

  /** The session run itself: CPU feeds become tensors (released afterwards), caller tensors pass through. */
  private async runRaw(feeds: Record<string, Feed>, fetches: readonly string[] | undefined): Promise<InferenceSession.ReturnType> {
    const ortFeeds: Record<string, Tensor> = {};
    const created: Tensor[] = [];
    for (const [k, v] of Object.entries(feeds)) {
      if (isDeviceTensor(v)) ortFeeds[k] = v;
      else created.push((ortFeeds[k] = this.runner.makeTensor(v)));
    }
    try {
      return fetches ? await this.session.run(ortFeeds, fetches) : await this.session.run(ortFeeds);
    } catch (e) {
      throw new WebDiffusionError('RUNTIME_FAILED', `The ${this.name} model failed to run: ${e instanceof Error ? e.message : e}`, {
        hint: 'Try a smaller image size, or reload the page to reset the GPU.',
        details: { component: this.name },
        cause: e,
      });
    } finally {
      for (const t of created) t.dispose();
    }
  }

  private throwBackendError(): void {
    // Reading an output waited for the GPU, so errors raised by this run's commands have arrived.
    const backendError = this.runner.backendError();
    if (backendError) {
      throw new WebDiffusionError('RUNTIME_FAILED', `The ${this.name} model ran into a GPU error, so its results are invalid: ${backendError}`, {
        hint: 'This GPU lacks something the model needs. Use the WebAssembly backend.',
        details: { component: this.name, gpuError: backendError },
      });
    }
  }

  /** Runs the graph and returns the requested float outputs as CPU arrays (all outputs when `fetches` is omitted). */
  run(feeds: Record<string, Feed>, fetches?: readonly string[]): Promise<Record<string, FloatOutput>> {
    if (this.released) throw new WebDiffusionError('MODEL_NOT_LOADED', `The ${this.name} session was released.`);
    this.checkFeeds(feeds);
    this.checkFetches(fetches);
    return this.runner.runSerialized(async () => {
      const results = await this.runRaw(feeds, fetches);
      const out: Record<string, FloatOutput> = {};
      try {
        for (const [k, t] of Object.entries(results)) {
          if (t.type !== 'float32') throw new WebDiffusionError('MODEL_INVALID', `${this.name} output ${k} is ${t.type}, expected float32.`);
          out[k] = { data: (await t.getData(true)) as Float32Array, dims: t.dims.map(Number) };
        }
      } finally {
        for (const t of Object.values(results)) t.dispose();
      }
      this.throwBackendError();
      return out;
    });
  }

  /**
   * Runs the graph and hands back its outputs as onnxruntime holds them: in GPU buffers for outputs
   * the session keeps on the device, so nothing is read back. The caller disposes every output.
   */
  runOnDevice(feeds: Record<string, Feed>, fetches: readonly string[]): Promise<Record<string, DeviceTensor>> {
    if (this.released) throw new WebDiffusionError('MODEL_NOT_LOADED', `The ${this.name} session was released.`);
    this.checkFeeds(feeds);
    this.checkFetches(fetches);
    return this.runner.runSerialized(async () => {
      const results = await this.runRaw(feeds, fetches);
      const out: Record<string, DeviceTensor> = {};
      for (const [k, t] of Object.entries(results)) out[k] = t as DeviceTensor;
      return out;
    });
  }

  /** Reads a float tensor back to the CPU (waiting for the GPU) and disposes it. */
  async readFloats(t: DeviceTensor): Promise<FloatOutput> {
    try {
      if (t.type !== 'float32') throw new WebDiffusionError('MODEL_INVALID', `${this.name} output is ${t.type}, expected float32.`);
      const out = { data: (await t.getData(true)) as Float32Array, dims: t.dims.map(Number) };
      this.throwBackendError();
      return out;
    } finally {
      t.dispose();
    }
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.session.release();
  }
}
