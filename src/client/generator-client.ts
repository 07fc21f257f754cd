/**
 * The page's handle on the generator worker: Comlink underneath, AbortSignal for cancellation,
 * progress callbacks, and errors that keep their codes. The page imports only types from the worker.
 */
import * as Comlink from 'comlink';
import { installErrorTransfer, WebDiffusionError } from '../errors.js';
import type {
  ExportInstallRequest,
  GenerateRequest,
  GenerateResult,
  GeneratorApi,
  InstalledPack,
  InstallRequest,
  LoadedModel,
  LoadRequest,
  PackVerifyReport,
  ProgressEvent,
  StorageInfo,
  TokenCounts,
} from '../protocol.js';

export interface CallOptions {
  signal?: AbortSignal;
  onProgress?: (e: ProgressEvent) => void;
}

let jobCounter = 0;
export const newJobId = (): string => `job-${Date.now().toString(36)}-${++jobCounter}`;

export class GeneratorClient {
  private readonly api: Comlink.Remote<GeneratorApi>;
  private workerError: WebDiffusionError | null = null;

  constructor(private readonly worker: Worker) {
    installErrorTransfer(Comlink);
    this.api = Comlink.wrap<GeneratorApi>(worker);
    worker.addEventListener('error', (e) => {
      this.workerError = new WebDiffusionError('WORKER_FAILED', `The generator worker failed: ${e.message || 'unknown error'}.`, { hint: 'Reload the page.' });
    });
  }

  static create(): GeneratorClient {
    return new GeneratorClient(new Worker(new URL('../../workers/generator.worker.ts', import.meta.url), { type: 'module', name: 'webdiffusion-generator' }));
  }

  private check(): void {
    if (this.workerError) throw this.workerError;
  }

  load(request: LoadRequest, options: CallOptions = {}): Promise<LoadedModel> {
    this.check();
    return this.api.load(request, options.onProgress ? Comlink.proxy(options.onProgress) : undefined);
  }

  async generate(request: Omit<GenerateRequest, 'jobId'> & { jobId?: string }, options: CallOptions = {}): Promise<GenerateResult> {
    this.check();
    const jobId = request.jobId ?? newJobId();
    if (options.signal?.aborted) throw new WebDiffusionError('CANCELLED', 'The generation was cancelled.', { details: { jobId } });
    const onAbort = () => void this.api.cancel(jobId);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await this.api.generate({ ...request, jobId }, options.onProgress ? Comlink.proxy(options.onProgress) : undefined);
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  countTokens(text: string): Promise<TokenCounts> {
    this.check();
    return this.api.countTokens(text);
  }

  /** Downloads a pack into the browser's storage; `signal` pauses it (what arrived is kept). */
  install(request: InstallRequest, options: CallOptions = {}): Promise<InstalledPack> {
    this.check();
    return this.withCancel(request.modelId, options, () => this.api.install(request, options.onProgress ? Comlink.proxy(options.onProgress) : undefined));
  }

  /** Converts an ONNX export into the browser's storage while it downloads. */
  installFromExport(request: ExportInstallRequest, options: CallOptions = {}): Promise<InstalledPack> {
    this.check();
    return this.withCancel(request.modelId, options, () => this.api.installFromExport(request, options.onProgress ? Comlink.proxy(options.onProgress) : undefined));
  }

  cancelInstall(modelId: string): Promise<void> {
    return this.api.cancelInstall(modelId);
  }

  installed(): Promise<InstalledPack[]> {
    this.check();
    return this.api.installed();
  }

  deletePack(id: string): Promise<void> {
    this.check();
    return this.api.deletePack(id);
  }

  verifyPack(id: string): Promise<PackVerifyReport> {
    this.check();
    return this.api.verifyPack(id);
  }

  storageInfo(): Promise<StorageInfo> {
    this.check();
    return this.api.storageInfo();
  }

  private async withCancel<T>(modelId: string, options: CallOptions, run: () => Promise<T>): Promise<T> {
    if (options.signal?.aborted) throw new WebDiffusionError('CANCELLED', `The install of ${modelId} was cancelled.`, { details: { modelId } });
    const onAbort = () => void this.api.cancelInstall(modelId);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await run();
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  unload(): Promise<void> {
    return this.api.unload();
  }

  terminate(): void {
    this.api[Comlink.releaseProxy]();
    this.worker.terminate();
  }
}
