/**
 * The weight store: model packs kept in IndexedDB (idb-keyval, with stores of its own), so a model
 * downloads once and then loads offline.
 *
 * - Weights are Blob chunks of 16 MiB, at most 64 MiB (IndexedDB refuses an ArrayBuffer value above about
 *   127 MB; Blobs go to disk in the browser process and keep the worker's memory flat). Measured
 *   (npm run bench:store): installing 0.25 to 3 GiB raises the browser's memory by 0.1 to 0.3 GiB,
 *   whatever the size. Only an off-the-record profile (a private window, a default Playwright
 *   context) keeps IndexedDB's blob files in memory; there the quota check refuses large models.
 * - Reading back fills one buffer of the file's size chunk by chunk (a 2.25 GiB file works; one
 *   Blob read of it fails in Chromium with NotReadableError) and never holds the file twice.
 * - Every file has a record: pack id, path, expected bytes and sha256, the chunks written so far
 *   (each with the sha256 state after it, so a resumed download continues the hash without
 *   re-reading), and a state. A chunk is written before the record that counts it, and the record
 *   that says "installed" is written only after the last chunk and a matching hash: a crash at any
 *   moment leaves the old state or the new one, never a file that looks complete and is not.
 * - A pack record lists the files the device's variants need and holds `pack.json`; it says
 *   "installed" only after all of them are, and is written last.
 *
 * No node: imports: this runs in the generator worker.
 */
import { createStore, del, get, promisifyRequest, set, type UseStore } from 'idb-keyval';
import { createSHA256 } from 'hash-wasm';
import { HashingChunker } from './hashing-chunker.js';
import { WebDiffusionError } from '../errors.js';
import { formatBytes } from '../shared/format-bytes.js';
import type { ModelSource } from '../models/model-source.js';
import { PACK_MANIFEST_FILE } from '../models/pack-manifest.js';
import type { FileData, PackSink, WriteResult } from '../convert/pack-sink.js';
import type { InstalledPack, ModelComponent, PackVerifyReport, StorageInfo, Variant } from '../protocol.js';

export const MAX_CHUNK_BYTES = 64 * 1024 * 1024;
/**
 * Chunk size of new writes. Smaller than the maximum: a chunk is buffered in the worker and again
 * in the browser process while it is written, so 16 MiB chunks halve the install's memory peak
 * (bench:store, 1 GiB pack: +174 MiB vs +309 MiB with 64 MiB chunks) at the same throughput, and a
 * resume refetches at most 16 MiB.
 */
export const DEFAULT_CHUNK_BYTES = 16 * 1024 * 1024;

export interface ChunkInfo {
  bytes: number;
  /** hash-wasm SHA-256 state after this chunk (IHasher.save()). */
  hashState: Uint8Array;
}

export type FileState = 'partial' | 'installed';

export interface FileRecord {
  packId: string;
  path: string;
  /** Size the file must have (from pack.json; for converter output, the size written). */
  bytes: number;
  /** sha256 it must have (lowercase hex; for converter output, the hash computed while writing). */
  sha256: string;
  /** Chunk generation: a rewrite goes to fresh keys, so the old chunks stay valid until the new record lands. */
  gen: string;
  /** Chunks written, in order. */
  chunks: ChunkInfo[];
  state: FileState;
  updatedAt: number;
}

export type PackSource = { kind: 'pack'; baseUrl: string } | { kind: 'export'; exportUrl: string } | { kind: 'folder'; folderName: string };

export interface PackRecord {
  id: string;
  name: string;
  /** installing: some needed files are missing or partial; installed: every needed file is installed (written last). */
  state: 'installing' | 'installed';
  /** pack.json as text ('' while a conversion has not written it yet). */
  manifest: string;
  /** Variant per component the files were chosen for. */
  variants: Partial<Record<ModelComponent, Variant>>;
  /** Paths the chosen variants need (tokenizers, graphs, shards). */
  files: string[];
  /** Sum of their sizes. */
  bytes: number;
  source: PackSource;
  updatedAt: number;
  installedAt?: number;
}

/** A pack as the storage panel shows it. */
export type StoredPackInfo = InstalledPack;

export type VerifyReport = PackVerifyReport;

export const committedBytes = (rec: Pick<FileRecord, 'chunks'>): number => rec.chunks.reduce((s, c) => s + c.bytes, 0);

const newGen = (): string => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
const packKey = (id: string): string => `pack:${id}`;
const fileKey = (packId: string, path: string): string => `file:${packId}/${path}`;
const chunkPrefix = (packId: string, path: string, gen: string): string => `${packId}/${path}@${gen}#`;
const chunkKey = (packId: string, path: string, gen: string, index: number): string => `${chunkPrefix(packId, path, gen)}${String(index).padStart(6, '0')}`;
const prefixRange = (prefix: string): IDBKeyRange => IDBKeyRange.bound(prefix, `${prefix}\uffff`);

/** True for the errors IndexedDB raises when the origin's quota is exhausted. */
export function isQuotaError(e: unknown): boolean {
  const name = (e as { name?: unknown } | null)?.name;
  return name === 'QuotaExceededError' || (e instanceof WebDiffusionError && e.code === 'STORAGE_FULL');
}

export interface StorageManagerLike {
  estimate?(): Promise<{ usage?: number; quota?: number }>;
  persist?(): Promise<boolean>;
  persisted?(): Promise<boolean>;
}

export function defaultStorageManager(): StorageManagerLike | undefined {
  return (globalThis.navigator as { storage?: StorageManagerLike } | undefined)?.storage;
}

/** STORAGE_FULL with needed and available bytes (available from estimate() when not given). */
export async function storageFullError(
  what: string,
  needed: number | null,
  storage: StorageManagerLike | undefined = defaultStorageManager(),
  cause?: unknown,
  available?: number | null,
): Promise<WebDiffusionError> {
  let avail = available ?? null;
  if (avail === null) {
    try {
      const est = await storage?.estimate?.();
      if (est?.quota !== undefined) avail = Math.max(0, est.quota - (est.usage ?? 0));
    } catch {
      /* no estimate */
    }
  }
  const need = needed === null ? 'more space' : `${formatBytes(needed)} (${needed} bytes)`;
  const has = avail === null ? 'an unknown amount' : `${formatBytes(avail)} (${avail} bytes)`;
  return new WebDiffusionError('STORAGE_FULL', `Not enough storage for ${what}: it needs ${need}; ${has} is available to this site.`, {
    hint: 'Free space on the device or delete other models in the storage panel; downloaded parts are kept and the download resumes where it stopped.',
    details: { neededBytes: needed, availableBytes: avail },
    ...(cause === undefined ? {} : { cause }),
  });
}

export interface WeightStoreOptions {
  /** IndexedDB database names prefix (tests use their own). Default "webdiffusion". */
  name?: string;
  /** Chunk size for new writes (default 16 MiB, at most 64 MiB; tests use small chunks). */
  chunkBytes?: number;
  storage?: StorageManagerLike;
  now?: () => number;
  /**
   * How new chunks are stored: 'blob' (default) or 'bytes' (a Uint8Array value, ≤ 64 MiB so under
   * IndexedDB's ~127 MB limit; Chromium wraps it into a blob itself). Reading accepts both.
   */
  chunkFormat?: 'blob' | 'bytes';
}

type ChunkValue = Blob | Uint8Array;
const valueSize = (v: ChunkValue): number => (v instanceof Blob ? v.size : v.byteLength);

/** A chunk ready to store (its own copy of the bytes): WeightStore.prepareChunk. */
export interface PreparedChunk {
  readonly value: Blob | Uint8Array;
  readonly bytes: number;
}

const errorText = (e: unknown): string => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

/** A stored chunk that is gone, has the wrong size or cannot be read (NotReadableError: its file behind the Blob is gone). */
function chunkLost(rec: Pick<FileRecord, 'path'>, index: number, why: string, cause?: unknown): WebDiffusionError {
  return new WebDiffusionError('MODEL_FILE_CORRUPT', `${rec.path}: stored chunk ${index} ${why}.`, {
    hint: 'The browser lost part of the stored model; delete it in the storage panel and download it again.',
    details: { file: rec.path, chunk: index },
    ...(cause === undefined ? {} : { cause }),
  });
}

export class WeightStore {
  readonly chunkBytes: number;
  private readonly records: UseStore;
  private readonly chunks: UseStore;
  private readonly storage: StorageManagerLike | undefined;
  private readonly now: () => number;
  private readonly chunkFormat: 'blob' | 'bytes';

  constructor(options: WeightStoreOptions = {}) {
    this.chunkFormat = options.chunkFormat ?? 'blob';
    const name = options.name ?? 'webdiffusion';
    this.chunkBytes = Math.min(MAX_CHUNK_BYTES, Math.max(1, Math.floor(options.chunkBytes ?? DEFAULT_CHUNK_BYTES)));
    // idb-keyval: one object store per database.
    this.records = createStore(`${name}-weight-records`, 'records');
    this.chunks = createStore(`${name}-weight-chunks`, 'chunks');
    this.storage = options.storage ?? defaultStorageManager();
    this.now = options.now ?? (() => Date.now());
  }

  // ------------------------------------------------------------------------------ records

  getPack(id: string): Promise<PackRecord | undefined> {
    return get<PackRecord>(packKey(id), this.records);
  }

  async putPack(rec: PackRecord): Promise<void> {
    await this.guard(`the ${rec.id} model`, () => set(packKey(rec.id), { ...rec, updatedAt: this.now() }, this.records));
  }

  getFile(packId: string, path: string): Promise<FileRecord | undefined> {
    return get<FileRecord>(fileKey(packId, path), this.records);
  }

  async fileRecords(packId: string): Promise<FileRecord[]> {
    return this.records('readonly', (s) => promisifyRequest(s.getAll(prefixRange(`file:${packId}/`)) as IDBRequest<FileRecord[]>));
  }

  async packRecords(): Promise<PackRecord[]> {
    return this.records('readonly', (s) => promisifyRequest(s.getAll(prefixRange('pack:')) as IDBRequest<PackRecord[]>));
  }

  async isFileInstalled(packId: string, file: { path: string; bytes: number; sha256: string }): Promise<boolean> {
    const rec = await this.getFile(packId, file.path);
    return rec?.state === 'installed' && rec.bytes === file.bytes && rec.sha256 === file.sha256;
  }

  // ------------------------------------------------------------------------------ writing (downloader)

  /**
   * The record to download `file` into: the partial (or installed) record when it is for the same
   * bytes and sha256, else a fresh partial one (an outdated record and its chunks are dropped).
   */
  async startFile(packId: string, file: { path: string; bytes: number; sha256: string }): Promise<FileRecord> {
    const old = await this.getFile(packId, file.path);
    if (old && old.bytes === file.bytes && old.sha256 === file.sha256) return old;
    if (old) await this.discardFile(packId, file.path);
    const rec: FileRecord = { packId, path: file.path, bytes: file.bytes, sha256: file.sha256, gen: newGen(), chunks: [], state: 'partial', updatedAt: this.now() };
    await this.guard(file.path, () => set(fileKey(packId, file.path), rec, this.records));
    return rec;
  }

  /**
   * A chunk's bytes copied into the value IndexedDB will store: the caller may refill its buffer
   * at once while the write of this copy is still under way (downloads overlap the two).
   */
  prepareChunk(data: Uint8Array): PreparedChunk {
    if (data.byteLength > MAX_CHUNK_BYTES) throw new RangeError(`chunk of ${data.byteLength} bytes exceeds ${MAX_CHUNK_BYTES}`);
    return { value: this.chunkFormat === 'blob' ? new Blob([data as Uint8Array<ArrayBuffer>]) : data.slice(), bytes: data.byteLength };
  }

  /** Writes the next chunk, then the record that counts it. QuotaExceededError → STORAGE_FULL. */
  async appendChunk(rec: FileRecord, data: Uint8Array | PreparedChunk, hashState: Uint8Array): Promise<FileRecord> {
    if (rec.state === 'installed') throw new Error(`${rec.path} is installed; it takes no more chunks`);
    const chunk = data instanceof Uint8Array ? { value: this.chunkValue(data), bytes: data.byteLength } : data;
    if (chunk.bytes > MAX_CHUNK_BYTES) throw new RangeError(`chunk of ${chunk.bytes} bytes exceeds ${MAX_CHUNK_BYTES}`);
    const index = rec.chunks.length;
    await this.guard(rec.path, () => set(chunkKey(rec.packId, rec.path, rec.gen, index), chunk.value, this.chunks), chunk.bytes);
    const next: FileRecord = { ...rec, chunks: [...rec.chunks, { bytes: chunk.bytes, hashState: hashState.slice() }], updatedAt: this.now() };
    await this.guard(rec.path, () => set(fileKey(rec.packId, rec.path), next, this.records));
    return next;
  }

  /** Starts the file over (a server that ignored Range, a restart after a bad hash): new generation, no chunks. */
  async resetFile(rec: FileRecord): Promise<FileRecord> {
    const next: FileRecord = { ...rec, gen: newGen(), chunks: [], state: 'partial', updatedAt: this.now() };
    await this.guard(rec.path, () => set(fileKey(rec.packId, rec.path), next, this.records));
    await this.deleteRange(prefixRange(chunkPrefix(rec.packId, rec.path, rec.gen)));
    return next;
  }

  /** Marks the file installed: the last write for it, after every chunk and a matching hash. */
  async markInstalled(rec: FileRecord): Promise<FileRecord> {
    if (committedBytes(rec) !== rec.bytes) throw new Error(`${rec.path}: ${committedBytes(rec)} of ${rec.bytes} bytes written`);
    const next: FileRecord = { ...rec, state: 'installed', updatedAt: this.now() };
    await this.guard(rec.path, () => set(fileKey(rec.packId, rec.path), next, this.records));
    return next;
  }

  /** Removes a file's record (first) and all its chunks, of every generation. */
  async discardFile(packId: string, path: string): Promise<void> {
    await del(fileKey(packId, path), this.records);
    await this.deleteRange(prefixRange(`${packId}/${path}@`));
  }

  // ------------------------------------------------------------------------------ reading

  /** The stored value of a chunk (the bytes are copied: the caller may reuse its buffer). */
  private chunkValue(data: Uint8Array): ChunkValue {
    if (this.chunkFormat === 'blob') return new Blob([data as Uint8Array<ArrayBuffer>]);
    // Structured clone copies a view's whole buffer: give it exactly the chunk.
    return data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data : data.slice();
  }

  /** The stored value of chunk `index`, checked against the size its record lists. */
  private async chunkValueAt(rec: FileRecord, index: number): Promise<ChunkValue> {
    const expected = rec.chunks[index]!.bytes;
    const v = await get<ChunkValue>(chunkKey(rec.packId, rec.path, rec.gen, index), this.chunks);
    if (!v) throw chunkLost(rec, index, 'is missing');
    if (valueSize(v) !== expected) throw chunkLost(rec, index, `is ${valueSize(v)} bytes instead of ${expected}`);
    return v;
  }

  /**
   * The bytes of chunk `index` (at most 64 MiB). Chunks are read one by one: one Blob read of a
   * whole file made of the chunk Blobs fails in Chromium for a 2.25 GiB file (NotReadableError,
   * measured with bench:store on Chromium's on-disk profile), and reading every byte-chunk at once
   * would hold the file twice.
   */
  private async readChunk(rec: FileRecord, index: number): Promise<Uint8Array> {
    const v = await this.chunkValueAt(rec, index);
    if (!(v instanceof Blob)) return v;
    try {
      return new Uint8Array(await v.arrayBuffer());
    } catch (e) {
      throw chunkLost(rec, index, `could not be read (${errorText(e)})`, e);
    }
  }

  /** Chunks in order, the next one already being read while the caller uses the current one. */
  private async *chunksOf(rec: FileRecord): AsyncGenerator<Uint8Array> {
    let next: Promise<Uint8Array> | null = rec.chunks.length ? this.readChunk(rec, 0) : null;
    for (let i = 0; next; i++) {
      const current: Promise<Uint8Array> = next;
      next = i + 1 < rec.chunks.length ? this.readChunk(rec, i + 1) : null;
      // A failed read-ahead must not go unhandled when the current one throws first.
      next?.catch(() => undefined);
      yield await current;
    }
  }

  private async installedRecord(packId: string, path: string): Promise<FileRecord> {
    const rec = await this.getFile(packId, path);
    if (rec?.state !== 'installed') {
      throw new WebDiffusionError('MODEL_FILE_MISSING', `${path} of ${packId} is not in the browser's model storage${rec ? ' (only partly downloaded)' : ''}.`, {
        hint: 'Install the model (download it) first.',
        details: { file: path, packId },
      });
    }
    return rec;
  }

  /**
   * The whole file for onnxruntime, in one buffer of its size filled chunk by chunk: besides it,
   * only the chunk being copied and the next one being read (16 MiB each) are alive, so a file of
   * several GiB never exists twice. The caller drops the result as soon as the session is made
   * (load-sd3 does).
   */
  async readFile(packId: string, path: string): Promise<Uint8Array> {
    const rec = await this.installedRecord(packId, path);
    let out: Uint8Array;
    try {
      out = new Uint8Array(rec.bytes);
    } catch (e) {
      throw new WebDiffusionError('MODEL_FILE_MISSING', `${path} (${formatBytes(rec.bytes)}) could not be loaded: the browser refused a buffer of ${rec.bytes} bytes (${e instanceof Error ? e.message : String(e)}).`, {
        hint: 'Close other tabs or apps to free memory, or choose a smaller model or variant.',
        details: { file: path, bytes: rec.bytes },
        cause: e,
      });
    }
    let at = 0;
    for await (const chunk of this.chunksOf(rec)) {
      out.set(chunk, at);
      at += chunk.byteLength;
    }
    if (at !== rec.bytes) {
      throw new WebDiffusionError('MODEL_FILE_CORRUPT', `${path}: stored ${at} bytes, expected ${rec.bytes}.`, { details: { file: path } });
    }
    return out;
  }

  /** The file chunk by chunk (at most two chunks in memory at a time). */
  async *readStream(packId: string, path: string, options: { allowPartial?: boolean } = {}): AsyncIterable<Uint8Array> {
    const rec = options.allowPartial ? await this.getFile(packId, path) : await this.installedRecord(packId, path);
    if (!rec) return;
    yield* this.chunksOf(rec);
  }

  // ------------------------------------------------------------------------------ packs

  async listPacks(): Promise<StoredPackInfo[]> {
    const packs = await this.packRecords();
    const out: StoredPackInfo[] = [];
    for (const p of packs) {
      const files = await this.fileRecords(p.id);
      const needed = new Set(p.files);
      out.push({
        id: p.id,
        name: p.name,
        state: p.state,
        variants: p.variants,
        bytesTotal: p.bytes,
        bytesStored: files.reduce((s, f) => s + committedBytes(f), 0),
        filesTotal: p.files.length,
        filesInstalled: files.filter((f) => f.state === 'installed' && needed.has(f.path)).length,
        source: p.source,
        updatedAt: p.updatedAt,
        ...(p.installedAt === undefined ? {} : { installedAt: p.installedAt }),
      });
    }
    return out.sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Deletes the pack record (first, so nothing looks installed), its file records and every chunk, partial ones included. */
  async deletePack(id: string): Promise<void> {
    await del(packKey(id), this.records);
    await this.records('readwrite', (s) => {
      s.delete(prefixRange(`file:${id}/`));
      return promisifyRequest(s.transaction);
    });
    await this.deleteRange(prefixRange(`${id}/`));
  }

  /**
   * Re-hashes every file of the pack. A file that no longer matches is dropped and the pack goes
   * back to "installing", so the next install downloads just that file again.
   */
  async verifyPack(id: string, onFile?: (path: string, index: number, total: number) => void): Promise<VerifyReport> {
    const pack = await this.getPack(id);
    if (!pack) throw new WebDiffusionError('MODEL_FILE_MISSING', `No model "${id}" is stored in this browser.`, { details: { packId: id } });
    const report: VerifyReport = { id, ok: true, files: [] };
    for (const [i, path] of pack.files.entries()) {
      onFile?.(path, i, pack.files.length);
      const rec = await this.getFile(id, path);
      let reason: string | undefined;
      if (rec?.state !== 'installed') reason = rec ? 'only partly downloaded' : 'missing';
      else {
        try {
          const h = await createSHA256();
          h.init();
          let bytes = 0;
          for await (const c of this.readStream(id, path)) {
            h.update(c);
            bytes += c.byteLength;
          }
          const digest = h.digest('hex');
          if (bytes !== rec.bytes) reason = `${bytes} bytes instead of ${rec.bytes}`;
          else if (digest !== rec.sha256) reason = `sha256 ${digest} instead of ${rec.sha256}`;
        } catch (e) {
          reason = e instanceof Error ? e.message : String(e);
        }
        if (reason) await this.discardFile(id, path);
      }
      report.files.push(reason ? { path, ok: false, reason } : { path, ok: true });
      if (reason) report.ok = false;
    }
    if (!report.ok && pack.state === 'installed') await this.putPack({ ...pack, state: 'installing' });
    return report;
  }

  /** The pack's `pack.json` and files, no network at all (verifyHashes may be off: the store verified them at install). */
  modelSource(packId: string): ModelSource {
    return {
      description: `browser storage (${packId})`,
      readBytes: async (path) => {
        if (path === PACK_MANIFEST_FILE) {
          const pack = await this.getPack(packId);
          if (!pack?.manifest) {
            throw new WebDiffusionError('MODEL_FILE_MISSING', `${packId} is not installed in this browser (no ${PACK_MANIFEST_FILE} stored).`, {
              hint: 'Install the model first.',
              details: { file: PACK_MANIFEST_FILE, packId },
            });
          }
          return new TextEncoder().encode(pack.manifest);
        }
        return this.readFile(packId, path);
      },
    };
  }

  /**
   * A PackSink for the converter ("convert while downloading"): each file is streamed into chunks
   * of a fresh generation and becomes visible only when its record lands; a write that throws
   * leaves nothing behind; the old content stays until the new record replaces it.
   */
  packSink(packId: string): PackSink {
    return {
      description: `browser storage (${packId})`,
      size: async (path) => {
        const rec = await this.getFile(packId, path);
        return rec?.state === 'installed' ? rec.bytes : null;
      },
      read: async (path) => {
        const rec = await this.getFile(packId, path);
        return rec?.state === 'installed' ? this.readFile(packId, path) : null;
      },
      readStream: (path) => this.readStream(packId, path),
      write: (path, data) => this.writeWhole(packId, path, data),
      remove: (path) => this.discardFile(packId, path),
    };
  }

  /** Writes a file whose content arrives as a stream (sha256 computed on the way), atomically. */
  async writeWhole(packId: string, path: string, data: FileData): Promise<WriteResult> {
    const h = await createSHA256();
    h.init();
    const gen = newGen();
    const chunks: ChunkInfo[] = [];
    let total = 0;
    const chunker = new HashingChunker(h, this.chunkBytes, async (part, hashState) => {
      await this.guard(path, () => set(chunkKey(packId, path, gen, chunks.length), this.chunkValue(part), this.chunks), part.byteLength);
      chunks.push({ bytes: part.byteLength, hashState });
    });
    try {
      const iterable: AsyncIterable<Uint8Array> | Iterable<Uint8Array> = data instanceof Uint8Array ? [data] : data;
      for await (const piece of iterable) {
        await chunker.push(piece);
        total += piece.byteLength;
      }
      await chunker.finish();
    } catch (e) {
      await this.deleteRange(prefixRange(chunkPrefix(packId, path, gen))).catch(() => undefined);
      throw e;
    }
    const sha256 = h.digest('hex');
    const old = await this.getFile(packId, path);
    const rec: FileRecord = { packId, path, bytes: total, sha256, gen, chunks, state: 'installed', updatedAt: this.now() };
    await this.guard(path, () => set(fileKey(packId, path), rec, this.records));
    if (old && old.gen !== gen) await this.deleteRange(prefixRange(chunkPrefix(packId, path, old.gen)));
    return { bytes: total, sha256 };
  }

  // ------------------------------------------------------------------------------ space

  async storageInfo(): Promise<StorageInfo> {
    let usage: number | null = null;
    let quota: number | null = null;
    let persisted: boolean | null = null;
    try {
      const est = await this.storage?.estimate?.();
      usage = est?.usage ?? null;
      quota = est?.quota ?? null;
    } catch {
      /* unknown */
    }
    try {
      persisted = (await this.storage?.persisted?.()) ?? null;
    } catch {
      /* unknown */
    }
    return { usage, quota, persisted };
  }

  /** Keys of every chunk stored for `packId` (diagnostics and tests). */
  async chunkKeys(packId: string): Promise<string[]> {
    return this.chunks('readonly', (s) => promisifyRequest(s.getAllKeys(prefixRange(`${packId}/`)) as IDBRequest<string[]>));
  }

  // ------------------------------------------------------------------------------ helpers

  private async deleteRange(range: IDBKeyRange): Promise<void> {
    await this.chunks('readwrite', (s) => {
      s.delete(range);
      return promisifyRequest(s.transaction);
    });
  }

  /** Runs a write; a quota failure becomes STORAGE_FULL naming what was being written. */
  private async guard<T>(what: string, write: () => Promise<T>, needed: number | null = null): Promise<T> {
    try {
      return await write();
    } catch (e) {
      if (isQuotaError(e)) throw await storageFullError(what, needed, this.storage, e);
      throw e;
    }
  }
}
