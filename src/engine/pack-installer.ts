/**
 * The engine's side of the weight store: which files a device needs (the variants load-sd3 would
 * choose), installing them (download, or convert while downloading), and the store-backed source
 * a load reads from (no network; hashes were verified at install).
 */
import { convertToPack } from '../convert/convert.js';
import { fileListFetch, fileListSource } from '../convert/file-list-source.js';
import { httpSource, type ConvertSource } from '../convert/sources.js';
import { WebDiffusionError } from '../errors.js';
import type { ModelSource } from '../models/model-source.js';
import { PACK_MANIFEST_FILE, parsePackManifest, type PackManifest } from '../models/pack-manifest.js';
import { findModel } from '../models/registry.js';
import type { BackendKind, DownloadProgress, ExportInstallRequest, FolderInstallRequest, InstalledPack, InstallRequest, ProgressEvent, Variant } from '../protocol.js';
import { variantPreference } from '../runtime/backend.js';
import { installPack, type InstallSelection, type LockManagerLike } from '../storage/downloader.js';
import { needsTokenError, withSourceTokens } from '../storage/source-tokens.js';
import { committedBytes, defaultStorageManager, storageFullError, type PackRecord, type PackSource, type StorageManagerLike, type WeightStore } from '../storage/weight-store.js';
import { chooseVariants, pipelineComponents, pipelineFiles } from './load-sd3.js';

export interface DeviceBackend {
  kind: BackendKind;
  shaderF16: boolean;
}

/** The files text-to-image loads on `backend`: the tokenizers and each pipeline component's chosen variant. */
export function selectPackFiles(manifest: PackManifest, backend: DeviceBackend): InstallSelection {
  const variants = chooseVariants(manifest, backend, pipelineComponents(manifest));
  return { variants, files: pipelineFiles(manifest, variants) };
}

export interface PackInstallerOptions {
  fetch?: typeof fetch;
  storage?: StorageManagerLike | null;
  locks?: LockManagerLike | null;
  retries?: number;
  backoffMs?: number;
  /**
   * Access tokens for gated hosts: `get` gives the token stored for exactly a request's host (it is
   * sent to that host only); `sentTo` tells whether one was sent, to report a refused token.
   */
  tokens?: { get(host: string): Promise<string | undefined>; sentTo(host: string): boolean };
}

/** Where a pack folder picked by the person is "served" from for the downloader (never fetched over a network). */
const LOCAL_FOLDER_BASE = 'https://local-folder.invalid/';

const toEvent = (p: DownloadProgress): ProgressEvent => ({ phase: 'downloading', ...p });

export class PackInstaller {
  private readonly running = new Map<string, { controller: AbortController; done: Promise<unknown> }>();

  /** fetch for model hosts: with the host's own access token, when one is stored. */
  private readonly fetch: typeof fetch;

  constructor(
    readonly store: WeightStore,
    private readonly options: PackInstallerOptions = {},
  ) {
    const base = options.fetch ?? ((...a: Parameters<typeof fetch>) => fetch(...a));
    const tokens = options.tokens;
    this.fetch = tokens ? withSourceTokens(base, (host) => tokens.get(host)) : base;
  }

  /** A 401/403 from a source as SOURCE_NEEDS_TOKEN (naming the host); other errors unchanged. */
  private authError(e: unknown): unknown {
    return needsTokenError(e, (host) => this.options.tokens?.sentTo(host) ?? false) ?? e;
  }

  /** Whether `id` is installed with every file `backend` needs (reads the store only). */
  async isInstalledFor(id: string, backend: DeviceBackend): Promise<boolean> {
    const pack = await this.store.getPack(id);
    if (pack?.state !== 'installed' || !pack.manifest) return false;
    let manifest: PackManifest;
    try {
      manifest = parsePackManifest(JSON.parse(pack.manifest));
    } catch {
      return false;
    }
    let sel: InstallSelection;
    try {
      sel = selectPackFiles(manifest, backend);
    } catch {
      return false;
    }
    for (const f of sel.files) {
      if (!pack.files.includes(f.path) || !(await this.store.isFileInstalled(id, f))) return false;
    }
    return true;
  }

  /**
   * The source a load reads: the store, after installing the pack from `baseUrl` when it is not
   * installed for this backend. Loading from the store makes no network request.
   */
  async prepare(request: { modelId: string; baseUrl: string }, backend: DeviceBackend, onProgress?: (e: ProgressEvent) => void): Promise<{ source: ModelSource; verifyHashes: boolean }> {
    if (!(await this.isInstalledFor(request.modelId, backend))) await this.install(request, backend, onProgress);
    return { source: this.store.modelSource(request.modelId), verifyHashes: false };
  }

  /** Stops a running install of `modelId` and waits until it has stopped writing. */
  async cancel(modelId: string): Promise<void> {
    const run = this.running.get(modelId);
    if (!run) return;
    run.controller.abort(new WebDiffusionError('CANCELLED', `The install of ${modelId} was cancelled.`));
    await run.done.catch(() => undefined);
  }

  private async exclusive<T>(modelId: string, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    await this.cancel(modelId);
    const controller = new AbortController();
    const done = run(controller.signal);
    const entry = { controller, done };
    this.running.set(modelId, entry);
    try {
      return await done;
    } finally {
      if (this.running.get(modelId) === entry) this.running.delete(modelId);
    }
  }

  async install(request: Pick<InstallRequest, 'modelId' | 'baseUrl'>, backend: DeviceBackend, onProgress?: (e: ProgressEvent) => void): Promise<InstalledPack> {
    await this.exclusive(request.modelId, (signal) =>
      installPack({
        ...this.options,
        store: this.store,
        modelId: request.modelId,
        baseUrl: request.baseUrl,
        select: (m) => selectPackFiles(m, backend),
        signal,
        fetch: this.fetch,
        ...(onProgress ? { onProgress: (p: DownloadProgress) => onProgress(toEvent(p)) } : {}),
      }).catch((e: unknown) => {
        throw this.authError(e);
      }),
    );
    return this.info(request.modelId);
  }

  /** Convert while downloading: the export is read by byte ranges and written into the store as a pack. */
  async installFromExport(request: ExportInstallRequest, backend: DeviceBackend, onProgress?: (e: ProgressEvent) => void): Promise<InstalledPack> {
    const source = httpSource(request.exportUrl, { fetch: this.fetch });
    return this.convertInto(request.modelId, source, { kind: 'export', exportUrl: request.exportUrl }, request.variants, backend, onProgress).catch((e: unknown) => {
      throw this.authError(e);
    });
  }

  /**
   * Installs from files the person picked: a pack folder goes through the downloader (the same
   * size and sha256 checks, chunking, progress, resume and cancel as a download; nothing is
   * fetched over the network), an export folder through the converter (hashed as it is written).
   */
  async installFromFolder(request: FolderInstallRequest, backend: DeviceBackend, onProgress?: (e: ProgressEvent) => void): Promise<InstalledPack> {
    const { modelId, files, folderName } = request;
    const source: PackSource = { kind: 'folder', folderName };
    if (files.some((f) => f.path === PACK_MANIFEST_FILE)) {
      await this.exclusive(modelId, async (signal) => {
        await installPack({
          ...this.options,
          store: this.store,
          modelId,
          baseUrl: LOCAL_FOLDER_BASE,
          source,
          select: (m) => selectPackFiles(m, backend),
          signal,
          fetch: fileListFetch(files, LOCAL_FOLDER_BASE),
          retries: 0,
          ...(onProgress ? { onProgress: (p: DownloadProgress) => onProgress(toEvent(p)) } : {}),
        }).catch((e: unknown) => {
          throw folderError(e, folderName);
        });
      });
      return this.info(modelId);
    }
    return this.convertInto(modelId, fileListSource(files, `the folder ${folderName}`), source, request.variants, backend, onProgress);
  }

  /** Converts an export (any ConvertSource) into the store as pack `modelId`: space checked first, then written file by file. */
  private async convertInto(
    modelId: string,
    source: ConvertSource,
    packSource: PackSource,
    requested: Variant[] | undefined,
    backend: DeviceBackend,
    onProgress?: (e: ProgressEvent) => void,
  ): Promise<InstalledPack> {
    const entry = findModel(modelId);
    const variants = requested?.length ? requested : [variantPreference(backend).find((v) => v === 'q4f16' || v === 'q4') ?? 'q4'];
    return this.exclusive(modelId, async (signal) => {
      const previous = await this.store.getPack(modelId);
      const start: PackRecord = {
        id: modelId,
        name: entry?.name ?? modelId,
        state: 'installing',
        manifest: '',
        variants: {},
        files: [],
        bytes: previous?.bytes ?? 0,
        source: packSource,
        updatedAt: 0,
      };
      const sink = this.store.packSink(modelId);
      const t0 = performance.now();
      let manifest: PackManifest;
      try {
        manifest = await convertToPack(source, sink, {
          variants,
          id: modelId,
          beforeWrite: async ({ bytes }) => {
            await this.checkSpace(modelId, entry?.name ?? modelId, bytes);
            await this.store.putPack(start);
          },
          ...(entry ? { name: entry.name, license: { name: entry.license.name, url: entry.license.url }, recommended: { steps: entry.recommended.steps, guidance: entry.recommended.guidance } } : {}),
          signal,
          onProgress: (e) => {
            const secs = (performance.now() - t0) / 1000;
            onProgress?.(
              toEvent({
                modelId,
                state: e.phase === 'done' ? 'done' : 'converting',
                file: e.file ?? null,
                fileBytesDone: 0,
                fileBytesTotal: 0,
                bytesDone: e.bytesDone,
                bytesTotal: e.bytesTotal,
                filesDone: e.tensorsDone,
                filesTotal: e.tensorsTotal,
                bytesPerSecond: secs > 0.05 && e.bytesDone > 0 ? e.bytesDone / secs : null,
                etaMs: e.etaMs,
              }),
            );
          },
        });
      } catch (e) {
        if (signal.aborted) throw new WebDiffusionError('CANCELLED', `The conversion of ${modelId} was cancelled; converted files are kept and it resumes where it stopped.`);
        throw e;
      }
      const sel = selectPackFiles(manifest, backend);
      for (const f of sel.files) {
        if (!(await this.store.isFileInstalled(modelId, f))) {
          throw new WebDiffusionError('MODEL_FILE_CORRUPT', `${f.path}: what the converter stored does not match the ${PACK_MANIFEST_FILE} it wrote.`, { details: { file: f.path } });
        }
      }
      const text = new TextDecoder().decode((await sink.read(PACK_MANIFEST_FILE)) ?? new TextEncoder().encode(JSON.stringify(manifest)));
      await this.store.putPack({
        ...start,
        name: manifest.name,
        state: 'installed',
        manifest: text,
        variants: sel.variants,
        files: sel.files.map((f) => f.path),
        bytes: sel.files.reduce((s, f) => s + f.bytes, 0),
        installedAt: Date.now(),
      });
      return this.info(modelId);
    });
  }

  /**
   * STORAGE_FULL (needed and available bytes) when `bytes` more than what the pack already has
   * stored does not fit; nothing has been written when it throws.
   */
  private async checkSpace(modelId: string, name: string, bytes: number): Promise<void> {
    const storage = this.options.storage === null ? undefined : (this.options.storage ?? defaultStorageManager());
    if (!storage?.estimate) return;
    let available: number | null = null;
    try {
      const est = await storage.estimate();
      if (est.quota !== undefined) available = Math.max(0, est.quota - (est.usage ?? 0));
    } catch {
      return; // unknown: try anyway (a quota error mid-way still becomes STORAGE_FULL)
    }
    const stored = (await this.store.fileRecords(modelId)).reduce((s, f) => s + committedBytes(f), 0);
    const needed = Math.max(0, bytes - stored);
    if (available !== null && needed > available) throw await storageFullError(name, needed, storage, undefined, available);
  }

  async info(id: string): Promise<InstalledPack> {
    const found = (await this.store.listPacks()).find((p) => p.id === id);
    if (!found) throw new WebDiffusionError('MODEL_FILE_MISSING', `No model "${id}" is stored in this browser.`, { details: { packId: id } });
    return found;
  }
}

/** Errors of a folder import, worded for a folder (no network was involved). */
function folderError(e: unknown, folderName: string): unknown {
  if (e instanceof WebDiffusionError && e.code === 'MODEL_FILE_MISSING' && typeof e.details?.file === 'string') {
    return new WebDiffusionError('MODEL_FILE_MISSING', `The folder ${folderName} lacks ${e.details.file}, which its ${PACK_MANIFEST_FILE} lists.`, {
      hint: 'Choose the complete pack folder (the one with pack.json and every file it lists).',
      details: { file: e.details.file, folder: folderName },
      cause: e,
    });
  }
  if (e instanceof WebDiffusionError && e.code === 'MODEL_FILE_CORRUPT' && typeof e.details?.file === 'string') {
    return new WebDiffusionError('MODEL_FILE_CORRUPT', `${e.details.file} in the folder ${folderName} does not match the size or sha256 its ${PACK_MANIFEST_FILE} lists; the model was not installed.`, {
      hint: 'The folder holds a damaged or different file: copy the pack again from its source.',
      details: { ...e.details, folder: folderName },
      cause: e,
    });
  }
  return e;
}
