/**
 * The engine's side of the weight store: which files a device needs (the variants load-sd3 would
 * choose), installing them (download, or convert while downloading), and the store-backed source
 * a load reads from (no network; hashes were verified at install).
 */
import { convertToPack } from '../convert/convert.js';
import { httpSource } from '../convert/sources.js';
import { WebDiffusionError } from '../errors.js';
import type { ModelSource } from '../models/model-source.js';
import { PACK_MANIFEST_FILE, parsePackManifest, type PackManifest } from '../models/pack-manifest.js';
import { findModel } from '../models/registry.js';
import type { BackendKind, DownloadProgress, ExportInstallRequest, InstalledPack, InstallRequest, ProgressEvent } from '../protocol.js';
import { variantPreference } from '../runtime/backend.js';
import { installPack, type InstallSelection, type LockManagerLike } from '../storage/downloader.js';
import { type PackRecord, type StorageManagerLike, type WeightStore } from '../storage/weight-store.js';
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
}

const toEvent = (p: DownloadProgress): ProgressEvent => ({ phase: 'downloading', ...p });

export class PackInstaller {
  private readonly running = new Map<string, { controller: AbortController; done: Promise<unknown> }>();

  constructor(
    readonly store: WeightStore,
    private readonly options: PackInstallerOptions = {},
  ) {}

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
        store: this.store,
        modelId: request.modelId,
        baseUrl: request.baseUrl,
        select: (m) => selectPackFiles(m, backend),
        signal,
        ...(onProgress ? { onProgress: (p: DownloadProgress) => onProgress(toEvent(p)) } : {}),
        ...this.options,
      }),
    );
    return this.info(request.modelId);
  }

  /** Convert while downloading: the export is read by byte ranges and written into the store as a pack. */
  async installFromExport(request: ExportInstallRequest, backend: DeviceBackend, onProgress?: (e: ProgressEvent) => void): Promise<InstalledPack> {
    const { modelId, exportUrl } = request;
    const entry = findModel(modelId);
    const variants = request.variants?.length ? request.variants : [variantPreference(backend).find((v) => v === 'q4f16' || v === 'q4') ?? 'q4'];
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
        source: { kind: 'export', exportUrl },
        updatedAt: 0,
      };
      await this.store.putPack(start);
      const sink = this.store.packSink(modelId);
      const t0 = performance.now();
      let manifest: PackManifest;
      try {
        manifest = await convertToPack(httpSource(exportUrl, this.options.fetch ? { fetch: this.options.fetch } : {}), sink, {
          variants,
          id: modelId,
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

  async info(id: string): Promise<InstalledPack> {
    const found = (await this.store.listPacks()).find((p) => p.id === id);
    if (!found) throw new WebDiffusionError('MODEL_FILE_MISSING', `No model "${id}" is stored in this browser.`, { details: { packId: id } });
    return found;
  }
}
