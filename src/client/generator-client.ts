/**
 * The page's handle on the generator worker: Comlink underneath, AbortSignal for cancellation,
 * progress callbacks, and errors that keep their codes. The page imports only types from the worker.
 */
import * as Comlink from 'comlink';
import { installErrorTransfer, WebDiffusionError } from '../errors.js';
import type {
  ExportInstallRequest,
  FolderInstallRequest,
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
  /** Rejects when the worker fails, so no pending call waits forever for an answer that cannot come. */
  private readonly died: Promise<never>;

  constructor(private readonly worker: Worker) {
    installErrorTransfer(Comlink);
    this.api = Comlink.wrap<GeneratorApi>(worker);
    this.died = new Promise<never>((_, reject) => {
      const fail = (message: string) => {
        if (this.workerError) return;
        this.workerError = new WebDiffusionError('WORKER_FAILED', `The generator worker failed: ${message}.`, {
          hint: 'Reload the page. If it happens again, try a smaller image size or the other compute backend.',
        });
        reject(this.workerError);
      };
      worker.addEventListener('error', (e) => fail(e.message || 'unknown error'));
      worker.addEventListener('messageerror', () => fail('a message could not be read'));
    });
    this.died.catch(() => undefined); // observed through guard()
  }

  /** `call`, unless the worker fails first. */
  /**
   * Runs a call that reports progress. The callback reaches the worker as a Comlink proxy, which
   * talks over its own MessageChannel: an event the worker sent just before returning can arrive
   * after the result. Events are forwarded only while the call runs, so a late "downloading 100 %"
   * or "step 8/8" never overwrites what the page shows once the call has finished.
   */
  private async withProgress<T>(onProgress: CallOptions['onProgress'], call: (cb: ((e: ProgressEvent) => void) | undefined) => Promise<T>): Promise<T> {
    if (!onProgress) return this.guard(call(undefined));
    let running = true;
    try {
      return await this.guard(call(Comlink.proxy((e: ProgressEvent) => (running ? onProgress(e) : undefined))));
    } finally {
      running = false;
    }
  }

  private guard<T>(call: Promise<T>): Promise<T> {
    if (this.workerError) return Promise.reject(this.workerError);
    return Promise.race([call, this.died]);
  }

  static create(): GeneratorClient {
    return new GeneratorClient(new Worker(new URL('../../workers/generator.worker.ts', import.meta.url), { type: 'module', name: 'webdiffusion-generator' }));
  }

  load(request: LoadRequest, options: CallOptions = {}): Promise<LoadedModel> {
    return this.withProgress(options.onProgress, (cb) => this.api.load(request, cb));
  }

  async generate(request: Omit<GenerateRequest, 'jobId'> & { jobId?: string }, options: CallOptions = {}): Promise<GenerateResult> {
    const jobId = request.jobId ?? newJobId();
    if (options.signal?.aborted) throw new WebDiffusionError('CANCELLED', 'The generation was cancelled.', { details: { jobId } });
    const onAbort = () => void this.api.cancel(jobId);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await this.withProgress(options.onProgress, (cb) => this.api.generate({ ...request, jobId }, cb));
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  countTokens(text: string): Promise<TokenCounts> {
    return this.guard(this.api.countTokens(text));
  }

  /** Downloads a pack into the browser's storage; `signal` pauses it (what arrived is kept). */
  install(request: InstallRequest, options: CallOptions = {}): Promise<InstalledPack> {
    return this.withCancel(request.modelId, options, () => this.withProgress(options.onProgress, (cb) => this.api.install(request, cb)));
  }

  /** Converts an ONNX export into the browser's storage while it downloads. */
  installFromExport(request: ExportInstallRequest, options: CallOptions = {}): Promise<InstalledPack> {
    return this.withCancel(request.modelId, options, () => this.withProgress(options.onProgress, (cb) => this.api.installFromExport(request, cb)));
  }

  /** Installs a pack, or converts an export, from a folder the person picked; `signal` pauses it. */
  installFromFolder(request: FolderInstallRequest, options: CallOptions = {}): Promise<InstalledPack> {
    return this.withCancel(request.modelId, options, () => this.withProgress(options.onProgress, (cb) => this.api.installFromFolder(request, cb)));
  }

  /** Keeps an access token for `host` in this browser (sent only to that host). */
  setSourceToken(host: string, token: string): Promise<void> {
    return this.guard(this.api.setSourceToken(host, token));
  }

  forgetSourceToken(host: string): Promise<void> {
    return this.guard(this.api.forgetSourceToken(host));
  }

  /** Hosts with a stored access token. */
  sourceTokenHosts(): Promise<string[]> {
    return this.guard(this.api.sourceTokenHosts());
  }

  cancelInstall(modelId: string): Promise<void> {
    return this.guard(this.api.cancelInstall(modelId));
  }

  installed(): Promise<InstalledPack[]> {
    return this.guard(this.api.installed());
  }

  deletePack(id: string): Promise<void> {
    return this.guard(this.api.deletePack(id));
  }

  verifyPack(id: string): Promise<PackVerifyReport> {
    return this.guard(this.api.verifyPack(id));
  }

  storageInfo(): Promise<StorageInfo> {
    return this.guard(this.api.storageInfo());
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
    return this.guard(this.api.unload());
  }

  terminate(): void {
    this.api[Comlink.releaseProxy]();
    this.worker.terminate();
  }
}
