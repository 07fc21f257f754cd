/**
 * Where the converter writes a pack: a folder (folder-sink.ts, Node) or, in the browser, the weight
 * store. Files are written whole and atomically (a half-written file never carries its final name),
 * hashed while they stream through, so the converter never holds a shard in memory.
 */
import { createSHA256 } from 'hash-wasm';

export interface WriteResult {
  bytes: number;
  /** Lowercase hex sha256 of what was written. */
  sha256: string;
}

export type FileData = AsyncIterable<Uint8Array> | Uint8Array;

export interface PackSink {
  readonly description: string;
  /** Byte size of a finished file, or null when absent. */
  size(path: string): Promise<number | null>;
  /** A whole (small) file, or null when absent: the resume state. */
  read(path: string): Promise<Uint8Array | null>;
  /** A finished file streamed back in chunks (re-hashed when a conversion resumes). */
  readStream(path: string): AsyncIterable<Uint8Array>;
  /**
   * Writes `path` (posix, relative to the pack root) from the chunks, hashing them on the way.
   * Atomic: until the promise resolves, `path` keeps its previous content or stays absent; when the
   * iterable throws, nothing is left behind under `path`.
   */
  write(path: string, data: FileData): Promise<WriteResult>;
  remove(path: string): Promise<void>;
}

export async function* chunksOf(data: FileData): AsyncIterable<Uint8Array> {
  if (data instanceof Uint8Array) yield data;
  else yield* data;
}

/** Passes every chunk to `consume` (in order, awaited) and returns the byte count and sha256. */
export async function hashThrough(data: FileData, consume: (chunk: Uint8Array) => Promise<void> | void): Promise<WriteResult> {
  const h = await createSHA256();
  h.init();
  let bytes = 0;
  for await (const chunk of chunksOf(data)) {
    if (chunk.byteLength === 0) continue;
    h.update(chunk);
    bytes += chunk.byteLength;
    await consume(chunk);
  }
  return { bytes, sha256: h.digest('hex') };
}

export async function sha256OfStream(data: FileData): Promise<WriteResult> {
  return hashThrough(data, () => undefined);
}

/** An in-memory sink (tests; tiny packs in the browser). */
export function memorySink(files = new Map<string, Uint8Array>()): PackSink & { files: Map<string, Uint8Array> } {
  return {
    files,
    description: 'memory',
    async size(path) {
      return files.get(path)?.byteLength ?? null;
    },
    async read(path) {
      return files.get(path) ?? null;
    },
    async *readStream(path) {
      const f = files.get(path);
      if (!f) throw new Error(`${path}: no such file`);
      yield f;
    },
    async write(path, data) {
      const parts: Uint8Array[] = [];
      const result = await hashThrough(data, (c) => void parts.push(c.slice()));
      const out = new Uint8Array(result.bytes);
      let at = 0;
      for (const p of parts) {
        out.set(p, at);
        at += p.byteLength;
      }
      files.set(path, out);
      return result;
    },
    async remove(path) {
      files.delete(path);
    },
  };
}
