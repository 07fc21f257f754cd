/**
 * The one generator worker that every generator and every <sd-generator> on a page shares. The
 * worker holds one model at a time, so work on it runs one task after another: a task makes sure
 * its model is installed and loaded (reloading when another model was used last), then generates.
 * A task still waiting when its signal aborts never starts. The worker starts on first use and
 * stops when the last user is disposed; a worker that failed is replaced on the next task.
 */
import { GeneratorClient } from '../client/generator-client.js';
import { WebDiffusionError } from '../errors.js';
import type { BackendPreference, LoadedModel, ProgressEvent } from '../protocol.js';

export interface ModelTarget {
  modelId: string;
  /** Where the pack is downloaded from when it is not in the browser's store yet. */
  packUrl: string | null;
  backend: BackendPreference;
}

export interface LoadOptions {
  signal?: AbortSignal;
  onProgress?: (e: ProgressEvent) => void;
  /** Runs before a download starts (not when the model is already stored); throws to refuse it. */
  beforeInstall?: () => Promise<void>;
  /** The image about to be made: the sessions are pinned to its shapes at load. */
  firstImage?: { width: number; height: number; guidance: number };
}

export const cancelled = (what: string) => new WebDiffusionError('CANCELLED', `The ${what} was cancelled.`);

/** `promise`, or a CANCELLED rejection as soon as `signal` aborts. */
export function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(cancelled(what));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(cancelled(what));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => (signal.removeEventListener('abort', onAbort), resolve(v)),
      (e) => (signal.removeEventListener('abort', onAbort), reject(e)),
    );
  });
}

export class WorkerHost {
  private tail: Promise<void> = Promise.resolve();
  private loaded: { key: string; model: LoadedModel } | null = null;
  private failed = false;

  constructor(readonly client: GeneratorClient) {}

  get dead(): boolean {
    return this.failed;
  }

  /** Runs `task` after every task queued before it; one aborted while it waits is dropped (CANCELLED). */
  async exclusive<T>(signal: AbortSignal | undefined, what: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tail;
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    this.tail = previous.then(() => mine);
    try {
      await unlessAborted(previous, signal, what);
      return await task();
    } catch (e) {
      if (e instanceof WebDiffusionError && e.code === 'WORKER_FAILED') this.failed = true;
      throw e;
    } finally {
      release();
    }
  }

  /** The model loaded for `target`: installed first when the store lacks it. Call inside exclusive(). */
  async ensureLoaded(target: ModelTarget, options: LoadOptions = {}): Promise<LoadedModel> {
    const key = `${target.modelId}\n${target.backend}`;
    if (this.loaded?.key === key) return this.loaded.model;
    const { signal, onProgress } = options;
    const stored = (await this.client.installed()).some((p) => p.id === target.modelId && p.state === 'installed');
    if (!stored) {
      if (!target.packUrl) {
        throw new WebDiffusionError('MODEL_NOT_AVAILABLE', `There is no pack to download ${target.modelId} from.`, {
          hint: 'Give a pack base URL (the folder that holds <model id>/pack.json).',
          details: { modelId: target.modelId },
        });
      }
      await options.beforeInstall?.();
      await this.client.install({ modelId: target.modelId, baseUrl: target.packUrl, backend: target.backend }, { signal, onProgress });
    }
    if (signal?.aborted) throw cancelled('load');
    this.loaded = null;
    // An installed pack loads from the store; the URL only serves files this backend still lacks.
    const model = await this.client.load(
      { modelId: target.modelId, baseUrl: target.packUrl ?? '', backend: target.backend, ...(options.firstImage ? { firstImage: options.firstImage } : {}) },
      { onProgress },
    );
    this.loaded = { key, model };
    return model;
  }

  terminate(): void {
    this.loaded = null;
    this.client.terminate();
  }
}

let shared: WorkerHost | null = null;
let users = 0;
let createClient: () => GeneratorClient = () => GeneratorClient.create();

/** For tests: how the shared worker's client is made. */
export function setClientFactory(factory: () => GeneratorClient): void {
  createClient = factory;
}

/** A claim on the shared worker: `host` starts it on first use (or after a failure); `release` once. */
export interface HostLease {
  readonly host: WorkerHost;
  release(): void;
}

export function leaseHost(): HostLease {
  users++;
  let released = false;
  return {
    get host() {
      if (released) throw new WebDiffusionError('INVALID_REQUEST', 'This generator was disposed.', { hint: 'Create a new one with createGenerator().' });
      if (!shared || shared.dead) {
        shared?.terminate();
        shared = new WorkerHost(createClient());
      }
      return shared;
    },
    release() {
      if (released) return;
      released = true;
      if (--users === 0 && shared) {
        shared.terminate();
        shared = null;
      }
    },
  };
}
