/**
 * The weight store on fake-indexeddb: chunking, the installed record written last, a crash between
 * chunks, the hash resumed from a saved state, delete, verify, quota errors.
 */
import 'fake-indexeddb/auto';
import { createSHA256 } from 'hash-wasm';
import { afterEach, describe, expect, it } from 'vitest';
import { WebDiffusionError } from '../src/errors.js';
import { committedBytes, WeightStore } from '../src/storage/weight-store.js';
import { bytes, errorOf, sha } from './helpers.js';

let n = 0;
const freshStore = (chunkBytes = 1000) => new WeightStore({ name: `ws-test-${++n}`, chunkBytes, storage: { estimate: async () => ({ usage: 0, quota: 5000 }) } });


async function* pieces(data: Uint8Array, size: number, failAfter = Infinity): AsyncIterable<Uint8Array> {
  let count = 0;
  for (let at = 0; at < data.byteLength; at += size) {
    if (count++ >= failAfter) throw new Error('simulated crash');
    yield data.subarray(at, at + size);
  }
}

/** Writes `data` as the downloader does: chunk, then the record with the hash state. */
async function writeLikeDownloader(store: WeightStore, packId: string, path: string, data: Uint8Array, stopAfterChunks = Infinity) {
  let rec = await store.startFile(packId, { path, bytes: data.byteLength, sha256: sha(data) });
  const h = await createSHA256();
  h.init();
  for (let at = 0, i = 0; at < data.byteLength && i < stopAfterChunks; at += store.chunkBytes, i++) {
    const c = data.subarray(at, at + store.chunkBytes);
    h.update(c);
    rec = await store.appendChunk(rec, c, h.save());
  }
  return { rec, digest: committedBytes(rec) === data.byteLength ? h.digest('hex') : null };
}

const realPut = IDBObjectStore.prototype.put;
afterEach(() => {
  IDBObjectStore.prototype.put = realPut;
});

describe('weight store', () => {
  it('stores a file as Blob chunks of at most chunkBytes and reads it back whole', async () => {
    const store = freshStore(1000);
    const data = bytes(3500);
    const r = await store.writeWhole('p', 'transformer/model.onnx_data', pieces(data, 333));
    expect(r).toEqual({ bytes: 3500, sha256: sha(data) });
    const rec = await store.getFile('p', 'transformer/model.onnx_data');
    expect(rec?.chunks.map((c) => c.bytes)).toEqual([1000, 1000, 1000, 500]);
    expect(rec?.state).toBe('installed');
    expect(await store.chunkKeys('p')).toHaveLength(4);
    expect(sha(await store.readFile('p', 'transformer/model.onnx_data'))).toBe(sha(data));
    const streamed: number[] = [];
    for await (const c of store.readStream('p', 'transformer/model.onnx_data')) streamed.push(c.byteLength);
    expect(streamed).toEqual([1000, 1000, 1000, 500]);
  });

  it('reads a file back chunk by chunk into one buffer, whichever way its chunks were stored', async () => {
    const data = bytes(5300, 21);
    for (const chunkFormat of ['blob', 'bytes'] as const) {
      const store = new WeightStore({ name: `ws-test-${++n}`, chunkBytes: 1000, chunkFormat });
      await store.writeWhole('p', 'big.bin', pieces(data, 777));
      // Chunk by chunk (never all chunks at once: a multi-GiB file would then exist twice).
      const realGet = IDBObjectStore.prototype.get;
      const keys: string[] = [];
      let inFlight = 0;
      let maxInFlight = 0;
      IDBObjectStore.prototype.get = function (this: IDBObjectStore, key: IDBValidKey | IDBKeyRange) {
        const req = realGet.call(this, key);
        if (this.name === 'chunks') {
          keys.push(String(key));
          maxInFlight = Math.max(maxInFlight, ++inFlight);
          req.addEventListener('success', () => inFlight--);
        }
        return req;
      };
      let out: Uint8Array;
      try {
        out = await store.readFile('p', 'big.bin');
      } finally {
        IDBObjectStore.prototype.get = realGet;
      }
      expect(out.byteLength).toBe(5300);
      expect(out.buffer.byteLength).toBe(5300);
      expect(sha(out)).toBe(sha(data));
      expect(keys).toHaveLength(6);
      expect(keys).toEqual([...keys].sort());
      // The chunk being copied and the next one being read, never more.
      expect(maxInFlight).toBeLessThanOrEqual(2);
    }
  });

  it('a stored chunk that is missing or unreadable is MODEL_FILE_CORRUPT naming the file and chunk', async () => {
    const store = freshStore(1000);
    const data = bytes(3100, 22);
    await store.writeWhole('p', 'x.bin', data);
    const realRead = Blob.prototype.arrayBuffer;
    let reads = 0;
    Blob.prototype.arrayBuffer = function (this: Blob) {
      if (++reads === 2) return Promise.reject(new DOMException('The requested file could not be read.', 'NotReadableError'));
      return realRead.call(this);
    };
    let e: WebDiffusionError;
    try {
      e = await errorOf(store.readFile('p', 'x.bin'));
    } finally {
      Blob.prototype.arrayBuffer = realRead;
    }
    expect(e.code).toBe('MODEL_FILE_CORRUPT');
    expect(e.message).toContain('x.bin: stored chunk 1 could not be read (NotReadableError');
    expect(e.details).toEqual({ file: 'x.bin', chunk: 1 });
    // A chunk that is gone.
    const rec = (await store.getFile('p', 'x.bin'))!;
    const { del, createStore } = await import('idb-keyval');
    await del(`p/x.bin@${rec.gen}#000002`, createStore(`ws-test-${n}-weight-chunks`, 'chunks'));
    const gone = await errorOf(store.readFile('p', 'x.bin'));
    expect(gone.code).toBe('MODEL_FILE_CORRUPT');
    expect(gone.details).toEqual({ file: 'x.bin', chunk: 2 });
    expect(gone.message).toContain('stored chunk 2 is missing');
    // verify() reports and drops it.
    await store.putPack({ id: 'p', name: 'P', state: 'installed', manifest: '{}', variants: {}, files: ['x.bin'], bytes: 3100, source: { kind: 'pack', baseUrl: 'x/' }, updatedAt: 0 });
    const report = await store.verifyPack('p');
    expect(report.files[0]).toMatchObject({ path: 'x.bin', ok: false });
    expect(await store.getFile('p', 'x.bin')).toBeUndefined();
  });

  it('writes the installed record last: a partial file is never readable', async () => {
    const store = freshStore(1000);
    const data = bytes(2500, 7);
    const { rec, digest } = await writeLikeDownloader(store, 'p', 'a.bin', data);
    expect(digest).toBe(sha(data));
    expect(rec.state).toBe('partial');
    expect(await store.isFileInstalled('p', { path: 'a.bin', bytes: data.byteLength, sha256: sha(data) })).toBe(false);
    expect((await errorOf(store.readFile('p', 'a.bin'))).code).toBe('MODEL_FILE_MISSING');
    await store.markInstalled(rec);
    expect(await store.isFileInstalled('p', { path: 'a.bin', bytes: data.byteLength, sha256: sha(data) })).toBe(true);
    expect(sha(await store.readFile('p', 'a.bin'))).toBe(sha(data));
  });

  it('a crash between chunks leaves no installed record (converter sink) and the old content intact', async () => {
    const store = freshStore(1000);
    const old = bytes(1200, 3);
    await store.writeWhole('p', 'f.bin', old);
    const e = await errorOf(store.writeWhole('p', 'f.bin', pieces(bytes(5000, 4), 700, 4)));
    expect(e.message).toBe('simulated crash');
    // The earlier version is still what the record points at; the new generation's chunks are gone.
    expect(sha(await store.readFile('p', 'f.bin'))).toBe(sha(old));
    expect(await store.chunkKeys('p')).toHaveLength(2);
    // A first write that crashes leaves nothing at all.
    await errorOf(store.writeWhole('p', 'g.bin', pieces(bytes(5000, 4), 700, 4)));
    expect(await store.getFile('p', 'g.bin')).toBeUndefined();
    expect(await store.packSink('p').size('g.bin')).toBeNull();
  });

  it('a crash between chunks (downloader) keeps the chunks counted so far, not installed', async () => {
    const store = freshStore(1000);
    const data = bytes(4200, 9);
    const { rec } = await writeLikeDownloader(store, 'p', 'w.bin', data, 2);
    const again = await store.getFile('p', 'w.bin');
    expect(again?.state).toBe('partial');
    expect(again?.chunks).toHaveLength(2);
    expect(committedBytes(rec)).toBe(2000);
    // startFile for the same file resumes that record.
    const resumed = await store.startFile('p', { path: 'w.bin', bytes: data.byteLength, sha256: sha(data) });
    expect(resumed.chunks).toHaveLength(2);
    // …and a different expected sha256 (the pack changed) drops it.
    const fresh = await store.startFile('p', { path: 'w.bin', bytes: data.byteLength, sha256: '0'.repeat(64) });
    expect(fresh.chunks).toHaveLength(0);
    expect(await store.chunkKeys('p')).toHaveLength(0);
  });

  it('a resumed hash (hash-wasm save/load) equals the one-shot sha256', async () => {
    const store = freshStore(1000);
    const data = bytes(3700, 11);
    const { rec } = await writeLikeDownloader(store, 'p', 'r.bin', data, 2);
    // "Reload": a new store object and a new hasher, state from the last stored chunk.
    const store2 = new WeightStore({ name: `ws-test-${n}`, chunkBytes: 1000 });
    const stored = (await store2.getFile('p', 'r.bin'))!;
    expect(stored.chunks).toHaveLength(2);
    const h = await createSHA256();
    h.load(stored.chunks[1]!.hashState);
    let cur = stored;
    for (let at = committedBytes(rec); at < data.byteLength; at += 1000) {
      const c = data.subarray(at, at + 1000);
      h.update(c);
      cur = await store2.appendChunk(cur, c, h.save());
    }
    expect(h.digest('hex')).toBe(sha(data));
    await store2.markInstalled(cur);
    expect(sha(await store2.readFile('p', 'r.bin'))).toBe(sha(data));
  });

  it('delete removes the pack record, file records and every chunk (partial ones too)', async () => {
    const store = freshStore(1000);
    await store.putPack({ id: 'p', name: 'P', state: 'installing', manifest: '', variants: {}, files: ['a', 'b'], bytes: 5000, source: { kind: 'pack', baseUrl: 'x/' }, updatedAt: 0 });
    await store.writeWhole('p', 'a', bytes(2100));
    await writeLikeDownloader(store, 'p', 'b', bytes(2900), 1);
    await store.writeWhole('p-other', 'a', bytes(100));
    const [info] = await store.listPacks();
    expect(info).toMatchObject({ id: 'p', state: 'installing', bytesStored: 3100, filesInstalled: 1, filesTotal: 2 });
    await store.deletePack('p');
    expect(await store.listPacks()).toEqual([]);
    expect(await store.fileRecords('p')).toEqual([]);
    expect(await store.chunkKeys('p')).toEqual([]);
    expect(await store.chunkKeys('p-other')).toHaveLength(1);
  });

  it('verify re-hashes; a damaged file is dropped and the pack goes back to installing', async () => {
    const store = freshStore(1000);
    const a = bytes(1500, 1);
    const b = bytes(800, 2);
    await store.writeWhole('p', 'a', a);
    await store.writeWhole('p', 'b', b);
    await store.putPack({ id: 'p', name: 'P', state: 'installed', manifest: '{}', variants: {}, files: ['a', 'b'], bytes: 2300, source: { kind: 'pack', baseUrl: 'x/' }, updatedAt: 0 });
    expect((await store.verifyPack('p')).ok).toBe(true);
    // Damage: the record claims another hash.
    const rec = (await store.getFile('p', 'b'))!;
    const { set, createStore } = await import('idb-keyval');
    await set(`file:p/b`, { ...rec, sha256: 'f'.repeat(64) }, createStore(`ws-test-${n}-weight-records`, 'records'));
    const report = await store.verifyPack('p');
    expect(report.ok).toBe(false);
    expect(report.files.find((f) => f.path === 'b')).toMatchObject({ ok: false });
    expect(await store.getFile('p', 'b')).toBeUndefined();
    expect((await store.getPack('p'))?.state).toBe('installing');
  });

  it('a QuotaExceededError while writing a chunk becomes STORAGE_FULL; chunks written before stay', async () => {
    const store = freshStore(1000);
    let blobs = 0;
    IDBObjectStore.prototype.put = function (this: IDBObjectStore, value: unknown, key?: IDBValidKey) {
      if (value instanceof Blob && ++blobs > 2) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      return realPut.call(this, value, key);
    };
    const data = bytes(4000, 5);
    const e = await errorOf(writeLikeDownloader(store, 'p', 'q.bin', data));
    expect(e).toBeInstanceOf(WebDiffusionError);
    expect(e.code).toBe('STORAGE_FULL');
    expect(e.message).toContain('q.bin');
    expect(e.details).toMatchObject({ neededBytes: 1000, availableBytes: 5000 });
    expect((await store.getFile('p', 'q.bin'))?.chunks).toHaveLength(2);
  });

  it('the store-backed ModelSource serves pack.json and installed files, nothing else', async () => {
    const store = freshStore(1000);
    const src = store.modelSource('p');
    expect((await errorOf(src.readBytes('pack.json'))).code).toBe('MODEL_FILE_MISSING');
    await store.putPack({ id: 'p', name: 'P', state: 'installed', manifest: '{"id":"p"}', variants: {}, files: ['a'], bytes: 3, source: { kind: 'pack', baseUrl: 'x/' }, updatedAt: 0 });
    await store.writeWhole('p', 'a', new Uint8Array([1, 2, 3]));
    expect(new TextDecoder().decode(await src.readBytes('pack.json'))).toBe('{"id":"p"}');
    expect([...(await src.readBytes('a'))]).toEqual([1, 2, 3]);
    expect((await errorOf(src.readBytes('missing'))).code).toBe('MODEL_FILE_MISSING');
  });
});
