/**
 * The downloader: installs a model pack from an HTTP(S) base URL into the weight store.
 *
 * - `pack.json` first: it gives every file's size and sha256, so the total is known, the space is
 *   checked (navigator.storage.estimate) and persistence requested before any weight is requested.
 * - Each file streams with fetch into the store's chunks (16 MiB); its sha256 is updated
 *   as bytes arrive and the hash state is saved with every chunk, so a resume continues the hash.
 * - Resumes with `Range: bytes=<stored>-` after an abort, a dropped connection, a reload or a browser
 *   restart; retries with exponential backoff; restarts the file when the server ignores Range;
 *   a hash mismatch refetches the file once, a second one stops with MODEL_FILE_CORRUPT.
 * - Web Locks per file: two tabs never download the same file; the second waits (showing the bytes
 *   the first one stores) and then finds it installed.
 *
 * No node: imports: this runs in the generator worker.
 */
import { createSHA256, type IHasher } from 'hash-wasm';
import { HashingChunker } from './hashing-chunker.js';
import { WebDiffusionError } from '../errors.js';
import { allPackFiles, PACK_MANIFEST_FILE, parsePackManifest, type PackFile, type PackManifest } from '../models/pack-manifest.js';
import type { DownloadProgress, ModelComponent, Variant } from '../protocol.js';
import { committedBytes, defaultStorageManager, storageFullError, type FileRecord, type PackRecord, type PackSource, type StorageManagerLike, type WeightStore } from './weight-store.js';

export interface LockManagerLike {
  request<T>(name: string, options: { ifAvailable?: boolean; signal?: AbortSignal }, callback: (lock: unknown) => Promise<T>): Promise<T>;
}

/** Web Locks when the platform has them (tabs of one origin share them); else a lock within this realm. */
export function defaultLocks(): LockManagerLike {
  const locks = (globalThis.navigator as { locks?: LockManagerLike } | undefined)?.locks;
  return locks ?? localLocks();
}

/** An in-realm lock manager (Node, tests; browsers without Web Locks). */
export function localLocks(): LockManagerLike {
  const held = new Map<string, Promise<unknown>>();
  return {
    async request<T>(name: string, options: { ifAvailable?: boolean; signal?: AbortSignal }, callback: (lock: unknown) => Promise<T>): Promise<T> {
      if (options.ifAvailable && held.has(name)) return callback(null);
      while (held.has(name)) {
        options.signal?.throwIfAborted();
        await held.get(name)!.catch(() => undefined);
      }
      const run = callback({ name });
      held.set(name, run);
      try {
        return await run;
      } finally {
        if (held.get(name) === run) held.delete(name);
      }
    },
  };
}

export interface InstallSelection {
  variants: Partial<Record<ModelComponent, Variant>>;
  /** The files to install (tokenizers and the chosen variants' graphs and shards). */
  files: PackFile[];
}

export interface InstallPackOptions {
  store: WeightStore;
  modelId: string;
  /** Folder of the pack (ends with "/"; a missing slash is added). */
  baseUrl: string;
  /** Which files of the manifest this device needs. */
  select(manifest: PackManifest): InstallSelection;
  /** Where the pack record says the pack came from (default: this base URL). */
  source?: PackSource;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  onProgress?(p: DownloadProgress): void;
  /** Failed attempts in a row (without any byte arriving) before giving up (default 6). */
  retries?: number;
  /** First backoff delay, doubled per failure up to maxBackoffMs (default 500 ms, 30 s). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** navigator.storage (null: skip the space check and persist request). */
  storage?: StorageManagerLike | null;
  /** navigator.locks (null: no cross-tab locking). */
  locks?: LockManagerLike | null;
  now?: () => number;
  /** Minimum time between progress events while bytes stream (default 150 ms). */
  progressIntervalMs?: number;
  /** How often a tab waiting for another tab's download re-reads the store (default 500 ms). */
  pollMs?: number;
}

class Retryable extends Error {}
class HashMismatch extends Error {}

function cancelled(modelId: string): WebDiffusionError {
  return new WebDiffusionError('CANCELLED', `The download of ${modelId} was cancelled; what arrived is kept and the download resumes where it stopped.`, {
    details: { modelId },
  });
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function parseContentRange(value: string | null): { start: number; end: number; total: number | null } | null {
  const m = value?.match(/^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i);
  if (!m) return null;
  return { start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? null : Number(m[3]) };
}

const dedupe = (files: PackFile[]): PackFile[] => [...new Map(files.map((f) => [f.path, f])).values()];

/** Fetches and validates a pack's manifest (with retries). Returns the text as stored and the parsed manifest. */
export async function fetchPackManifest(
  baseUrl: string,
  options: { fetch?: typeof fetch; signal?: AbortSignal; retries?: number; backoffMs?: number } = {},
): Promise<{ text: string; manifest: PackManifest }> {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  const url = new URL(PACK_MANIFEST_FILE, base).href;
  const fetchFn = options.fetch ?? ((...a: Parameters<typeof fetch>) => fetch(...a));
  const retries = options.retries ?? 4;
  let last: unknown;
  for (let i = 0; i <= retries; i++) {
    if (i > 0) await sleep((options.backoffMs ?? 500) * 2 ** (i - 1), options.signal);
    let res: Response;
    try {
      res = await fetchFn(url, { cache: 'no-cache', signal: options.signal ?? null });
    } catch (e) {
      if (options.signal?.aborted) throw e;
      last = e;
      continue;
    }
    if (res.status >= 500 || res.status === 429) {
      last = new Error(`HTTP ${res.status}`);
      continue;
    }
    if (!res.ok) {
      throw new WebDiffusionError('MODEL_FILE_MISSING', `${url} answered HTTP ${res.status}.`, {
        hint: res.status === 404 ? 'No model pack at this address: check the pack base URL (?packBase=…). For the demo model, run `npm run fixtures`.' : 'Check access to the model host.',
        details: { file: PACK_MANIFEST_FILE, url, status: res.status },
      });
    }
    let text: string;
    try {
      text = await res.text();
    } catch (e) {
      last = e;
      continue;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new WebDiffusionError('MODEL_INVALID', `${url} is not valid JSON.`, { details: { file: PACK_MANIFEST_FILE, url }, cause: e });
    }
    return { text, manifest: parsePackManifest(json, url) };
  }
  throw new WebDiffusionError('MODEL_FILE_MISSING', `Could not fetch ${url}: ${last instanceof Error ? last.message : String(last)}`, {
    hint: 'Check the network connection and that the model is hosted at this address.',
    details: { file: PACK_MANIFEST_FILE, url },
    cause: last,
  });
}

/**
 * Installs (or completes) a pack: afterwards every selected file is installed in the store and the
 * pack record, holding pack.json, says "installed". Already installed files are not requested.
 */
export async function installPack(o: InstallPackOptions): Promise<PackRecord> {
  const { store, modelId, signal } = o;
  const base = o.baseUrl.endsWith('/') ? o.baseUrl : `${o.baseUrl}/`;
  const fetchFn = o.fetch ?? ((...a: Parameters<typeof fetch>) => fetch(...a));
  const now = o.now ?? (() => performance.now());
  const retries = o.retries ?? 6;
  const backoffMs = o.backoffMs ?? 500;
  const maxBackoffMs = o.maxBackoffMs ?? 30_000;
  const storage = o.storage === null ? undefined : (o.storage ?? defaultStorageManager());
  const locks = o.locks === null ? localLocks() : (o.locks ?? defaultLocks());
  const interval = o.progressIntervalMs ?? 150;
  const abortCheck = () => {
    if (signal?.aborted) throw cancelled(modelId);
  };

  const progress: DownloadProgress = {
    modelId,
    state: 'checking',
    file: null,
    fileBytesDone: 0,
    fileBytesTotal: 0,
    bytesDone: 0,
    bytesTotal: 0,
    filesDone: 0,
    filesTotal: 0,
    bytesPerSecond: null,
    etaMs: null,
  };
  const t0 = now();
  let transferred = 0;
  let lastEmit = -Infinity;
  const emit = (force = false) => {
    const t = now();
    if (!force && t - lastEmit < interval) return;
    lastEmit = t;
    const secs = (t - t0) / 1000;
    progress.bytesPerSecond = transferred > 0 && secs > 0.05 ? transferred / secs : null;
    progress.etaMs = progress.bytesPerSecond ? (1000 * Math.max(0, progress.bytesTotal - progress.bytesDone)) / progress.bytesPerSecond : null;
    o.onProgress?.({ ...progress });
  };
  emit(true);

  let text: string;
  let manifest: PackManifest;
  try {
    ({ text, manifest } = await fetchPackManifest(base, { fetch: fetchFn, signal, backoffMs }));
  } catch (e) {
    abortCheck();
    throw e;
  }
  if (manifest.id !== modelId) {
    throw new WebDiffusionError('MODEL_INVALID', `${base}${PACK_MANIFEST_FILE} is the pack "${manifest.id}", not "${modelId}".`, {
      hint: 'The pack base URL points at another model.',
      details: { file: PACK_MANIFEST_FILE, expected: modelId, actual: manifest.id },
    });
  }
  const selection = o.select(manifest);
  const files = dedupe(selection.files);
  const previous = await store.getPack(modelId);

  // What is there already, and what is still needed.
  const records = new Map<string, FileRecord | undefined>();
  for (const f of files) records.set(f.path, await store.getFile(modelId, f.path));
  const usable = (f: PackFile, r: FileRecord | undefined) => r !== undefined && r.bytes === f.bytes && r.sha256 === f.sha256;
  const have = (f: PackFile) => {
    const r = records.get(f.path);
    return usable(f, r) ? committedBytes(r!) : 0;
  };
  progress.bytesTotal = files.reduce((s, f) => s + f.bytes, 0);
  progress.filesTotal = files.length;
  progress.bytesDone = files.reduce((s, f) => s + have(f), 0);
  progress.filesDone = files.filter((f) => records.get(f.path)?.state === 'installed' && usable(f, records.get(f.path))).length;
  const needed = progress.bytesTotal - progress.bytesDone;

  if (needed > 0 && storage) {
    // Space first: nothing is written (or requested) when it cannot fit.
    let available: number | null = null;
    try {
      const est = await storage.estimate?.();
      if (est?.quota !== undefined) available = Math.max(0, est.quota - (est.usage ?? 0));
    } catch {
      /* unknown: try anyway */
    }
    if (available !== null && needed > available) throw await storageFullError(manifest.name, needed, storage, undefined, available);
    try {
      await storage.persist?.();
    } catch {
      /* not granted: fine */
    }
  }

  const sameManifest = previous?.manifest === text;
  // Files an earlier install of the same pack.json chose (other variants) stay part of the pack.
  const byPath = new Map(allPackFiles(manifest).map((f) => [f.path, f]));
  const keep = sameManifest && previous ? previous.files.filter((p) => byPath.has(p) && !files.some((f) => f.path === p)) : [];
  const allFiles = [...files.map((f) => f.path), ...keep];
  const record: PackRecord = {
    id: modelId,
    name: manifest.name,
    state: 'installing',
    manifest: previous?.manifest ?? '',
    variants: { ...(sameManifest ? previous?.variants : {}), ...selection.variants },
    files: allFiles,
    bytes: allFiles.reduce((s, p) => s + (byPath.get(p)?.bytes ?? 0), 0),
    source: o.source ?? { kind: 'pack', baseUrl: base },
    updatedAt: 0,
  };
  const alreadyInstalled = previous?.state === 'installed' && sameManifest;
  if (alreadyInstalled && files.every((f) => previous.files.includes(f.path) && records.get(f.path)?.state === 'installed' && usable(f, records.get(f.path)))) {
    progress.state = 'done';
    emit(true);
    return previous;
  }
  // An installed pack that gains variants stays installed (for the files it lists) while they download.
  if (!alreadyInstalled) await store.putPack(record);

  for (const file of files) {
    abortCheck();
    const before = have(file);
    progress.file = file.path;
    progress.fileBytesTotal = file.bytes;
    progress.fileBytesDone = before;
    const lockName = `webdiffusion-download:${modelId}/${file.path}`;
    const work = async (): Promise<void> => {
      // Under the lock: another tab may have installed it meanwhile.
      const rec = await store.getFile(modelId, file.path);
      if (rec?.state === 'installed' && usable(file, rec)) {
        progress.bytesDone += file.bytes - progress.fileBytesDone;
        progress.fileBytesDone = file.bytes;
        return;
      }
      if (progress.fileBytesDone !== (rec && usable(file, rec) ? committedBytes(rec) : 0)) {
        progress.bytesDone += (rec && usable(file, rec) ? committedBytes(rec) : 0) - progress.fileBytesDone;
        progress.fileBytesDone = rec && usable(file, rec) ? committedBytes(rec) : 0;
      }
      progress.state = 'downloading';
      emit(true);
      await downloadFile(file);
    };
    let waited = false;
    await locks.request(lockName, { ifAvailable: true }, async (lock) => {
      if (lock) return work();
      waited = true;
    });
    if (waited) {
      progress.state = 'waiting';
      emit(true);
      const poll = setInterval(() => {
        void store.getFile(modelId, file.path).then((r) => {
          if (!r || progress.state !== 'waiting') return;
          const b = usable(file, r) ? committedBytes(r) : 0;
          progress.bytesDone += b - progress.fileBytesDone;
          progress.fileBytesDone = b;
          emit(true);
        });
      }, o.pollMs ?? 500);
      try {
        await locks.request(lockName, signal ? { signal } : {}, work);
      } catch (e) {
        abortCheck();
        throw e;
      } finally {
        clearInterval(poll);
      }
    }
    progress.filesDone++;
    emit(true);
  }

  // Last: the pack record that says installed, with pack.json.
  const done: PackRecord = { ...record, state: 'installed', manifest: text, installedAt: Date.now() };
  await store.putPack(done);
  progress.state = 'done';
  progress.file = null;
  emit(true);
  return done;

  // ---------------------------------------------------------------------------- one file

  async function downloadFile(file: PackFile): Promise<void> {
    const url = new URL(file.path.split('/').map(encodeURIComponent).join('/'), base).href;
    for (let round = 0; ; round++) {
      let rec = await store.startFile(modelId, file);
      const h = await createSHA256();
      const restore = (r: FileRecord) => {
        const last = r.chunks[r.chunks.length - 1];
        if (last) h.load(last.hashState);
        else h.init();
      };
      restore(rec);
      let failures = 0;
      try {
        while (committedBytes(rec) < file.bytes) {
          abortCheck();
          let received = 0;
          try {
            rec = await fetchInto(url, file, rec, h, (n) => (received += n), (r) => (rec = r));
          } catch (e) {
            if (signal?.aborted) throw cancelled(modelId);
            if (!(e instanceof Retryable)) throw e;
            failures = received > 0 ? 1 : failures + 1;
            if (failures > retries) {
              throw new WebDiffusionError('MODEL_FILE_MISSING', `Could not download ${file.path} from ${url}: ${e.message} (gave up after ${failures} attempts in a row).`, {
                hint: 'Check the network connection; what arrived is kept, and the download resumes where it stopped.',
                details: { file: file.path, url },
                cause: e,
              });
            }
            // Back to the last stored chunk (bytes after it are fetched again).
            const stored = committedBytes(rec);
            progress.bytesDone -= progress.fileBytesDone - stored;
            progress.fileBytesDone = stored;
            restore(rec);
            emit(true);
            try {
              await sleep(Math.min(maxBackoffMs, backoffMs * 2 ** (failures - 1)), signal);
            } catch {
              throw cancelled(modelId);
            }
          }
        }
        const digest = h.digest('hex');
        if (digest !== file.sha256) throw new HashMismatch(digest);
        await store.markInstalled(rec);
        return;
      } catch (e) {
        if (!(e instanceof HashMismatch)) throw e;
        // Nothing of a bad file stays: drop it, and fetch it once more from the start.
        await store.discardFile(modelId, file.path);
        progress.bytesDone -= progress.fileBytesDone;
        progress.fileBytesDone = 0;
        if (round >= 1) {
          throw new WebDiffusionError('MODEL_FILE_CORRUPT', `${file.path} downloaded twice from ${url} with sha256 ${e.message}; ${PACK_MANIFEST_FILE} expects ${file.sha256}.`, {
            hint: 'The server holds a damaged or different file than its pack.json lists; the file was not installed. Try again later or use another pack host.',
            details: { file: file.path, url, expectedSha256: file.sha256, actualSha256: e.message },
          });
        }
      }
    }
  }

  /**
   * One request from the last stored chunk: streams the body into chunk-sized writes, each with
   * the hash state after it. Throws Retryable for what a retry may fix.
   */
  async function fetchInto(
    url: string,
    file: PackFile,
    start: FileRecord,
    h: IHasher,
    onBytes: (n: number) => void,
    onRecord: (r: FileRecord) => void,
  ): Promise<FileRecord> {
    let rec = start;
    let offset = committedBytes(rec);
    let res: Response;
    try {
      res = await fetchFn(url, { cache: 'no-store', signal: signal ?? null, headers: offset > 0 ? { Range: `bytes=${offset}-` } : {} });
    } catch (e) {
      throw new Retryable(`network error: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (res.status >= 500 || res.status === 429 || res.status === 408) {
      await res.body?.cancel().catch(() => undefined);
      throw new Retryable(`HTTP ${res.status}`);
    }
    if (res.status === 206) {
      const cr = parseContentRange(res.headers.get('content-range'));
      if (!cr || cr.start !== offset) {
        await res.body?.cancel().catch(() => undefined);
        throw new Retryable(`answered ${res.headers.get('content-range') ?? 'no Content-Range'} to a request from byte ${offset}`);
      }
      if (cr.total !== null && cr.total !== file.bytes) {
        await res.body?.cancel().catch(() => undefined);
        throw new HashMismatch(`(size ${cr.total} instead of ${file.bytes})`);
      }
    } else if (res.ok) {
      if (offset > 0) {
        // The server ignored Range: start the file over with this response.
        rec = await store.resetFile(rec);
        onRecord(rec);
        h.init();
        progress.bytesDone -= progress.fileBytesDone;
        progress.fileBytesDone = 0;
        offset = 0;
      }
    } else {
      await res.body?.cancel().catch(() => undefined);
      throw new WebDiffusionError('MODEL_FILE_MISSING', `${url} answered HTTP ${res.status}.`, {
        hint: res.status === 404 ? 'The pack on the server lacks a file its pack.json lists.' : 'Check access to the model host.',
        details: { file: file.path, url, status: res.status },
      });
    }
    if (!res.body) throw new Retryable('empty response body');

    let pos = offset;
    // One chunk write in flight while the next chunk streams in and is hashed: the chunk is copied
    // first (so the chunker may refill its buffer), and the writes stay in order, each chunk
    // before the record that counts it. A failed write (STORAGE_FULL) stops the next chunk.
    let writing: Promise<void> = Promise.resolve();
    const chunker = new HashingChunker(
      h,
      store.chunkBytes,
      async (chunk, hashState) => {
        const prepared = store.prepareChunk(chunk);
        await writing;
        writing = store.appendChunk(rec, prepared, hashState).then((r) => {
          rec = r;
          onRecord(r);
        });
        writing.catch(() => undefined);
      },
      file.bytes - offset,
    );
    const reader = res.body.getReader();
    try {
      for (;;) {
        let r: ReadableStreamReadResult<Uint8Array>;
        try {
          r = await reader.read();
        } catch (e) {
          throw new Retryable(`connection lost at byte ${pos}: ${e instanceof Error ? e.message : String(e)}`);
        }
        if (r.done) break;
        const piece = r.value;
        if (pos + piece.byteLength > file.bytes) throw new HashMismatch(`(more than ${file.bytes} bytes)`);
        await chunker.push(piece);
        pos += piece.byteLength;
        transferred += piece.byteLength;
        onBytes(piece.byteLength);
        progress.fileBytesDone += piece.byteLength;
        progress.bytesDone += piece.byteLength;
        emit();
      }
    } catch (e) {
      await reader.cancel().catch(() => undefined);
      // The caller resumes from the last stored chunk: let the write under way land first (its
      // failure, a full disk say, is the error to report).
      await writing;
      throw e;
    } finally {
      reader.releaseLock();
    }
    await writing;
    if (pos < file.bytes) {
      await res.body.cancel().catch(() => undefined);
      throw new Retryable(`connection closed at byte ${pos} of ${file.bytes}`);
    }
    return rec;
  }
}
