/**
 * The downloader against a local HTTP server with byte ranges (e2e/pack-server.ts) and the weight
 * store on fake-indexeddb: interruptions, corrupt bytes, a server without Range, space checks,
 * cancellation, two installs of one pack at once, and a model loaded from the store with no network.
 */
import 'fake-indexeddb/auto';
import * as ortNode from 'onnxruntime-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startPackServer, type PackServer } from '../e2e/pack-server.js';
import { GeneratorEngine } from '../src/engine/engine.js';
import { PackInstaller, selectPackFiles } from '../src/engine/pack-installer.js';
import { DEFAULT_FIXTURE } from '../src/fixtures/fixture-config.js';
import { buildFixtureFiles } from '../src/fixtures/write-fixture.js';
import type { PackFile, PackManifest } from '../src/models/pack-manifest.js';
import type { BackendInfo, DownloadProgress, ProgressEvent } from '../src/protocol.js';
import { SessionRunner, type OrtModule } from '../src/runtime/session-runner.js';
import { installPack, localLocks, type InstallPackOptions } from '../src/storage/downloader.js';
import { WeightStore } from '../src/storage/weight-store.js';
import { bytes, errorOf, sha } from './helpers.js';

const CHUNK = 64 * 1024;
const WASM = { kind: 'wasm', shaderF16: false } as const;

const files = buildFixtureFiles(DEFAULT_FIXTURE);
const BIG_PATH = 'transformer/model.onnx_data_big';
const big = bytes(CHUNK * 16 + 12_345, 42);
files.set(BIG_PATH, big);
const bigFile: PackFile = { path: BIG_PATH, bytes: big.byteLength, sha256: sha(big) };
const manifest = JSON.parse(new TextDecoder().decode(files.get('pack.json'))) as PackManifest;
const PACK = manifest.id;

let server: PackServer;
beforeAll(async () => {
  server = await startPackServer({ files });
});
afterAll(async () => {
  await server.close();
});
afterEach(() => {
  server.knobs.abortAt.clear();
  server.knobs.corrupt.clear();
  server.knobs.ignoreRange = false;
  server.knobs.throttleBytesPerSec = 0;
  server.resetStats();
});

let n = 0;
const freshStore = () => new WeightStore({ name: `dl-test-${++n}`, chunkBytes: CHUNK });
const bigOnly = () => ({ variants: {}, files: [bigFile] });

function install(store: WeightStore, extra: Partial<InstallPackOptions> = {}) {
  return installPack({ store, modelId: PACK, baseUrl: server.url, select: bigOnly, backoffMs: 1, storage: null, locks: localLocks(), ...extra });
}

async function storedSha(store: WeightStore, path = BIG_PATH): Promise<string> {
  return sha(await store.readFile(PACK, path));
}

describe('downloader', () => {
  it('installs the files the selection needs, in chunks, with progress, and records the pack last', async () => {
    const store = freshStore();
    const events: DownloadProgress[] = [];
    const rec = await install(store, { select: (m) => ({ ...selectPackFiles(m, WASM), files: [...selectPackFiles(m, WASM).files, bigFile] }), progressIntervalMs: 0, onProgress: (p) => events.push(p) });
    expect(rec.state).toBe('installed');
    expect(rec.manifest).toBe(new TextDecoder().decode(files.get('pack.json')));
    const sel = selectPackFiles(manifest, WASM);
    expect(rec.files).toHaveLength(sel.files.length + 1);
    expect(await storedSha(store)).toBe(bigFile.sha256);
    expect((await store.getFile(PACK, BIG_PATH))?.chunks).toHaveLength(17);
    expect(server.requests()).toBe(sel.files.length + 1);
    // vae_encoder is not needed by text-to-image, so it is never requested.
    expect(server.log.some((l) => l.path.startsWith('vae_encoder/'))).toBe(false);
    const last = events.at(-1)!;
    expect(last).toMatchObject({ state: 'done', filesDone: rec.files.length, filesTotal: rec.files.length });
    expect(last.bytesDone).toBe(last.bytesTotal);
    expect(events.some((e) => e.state === 'downloading' && e.file === BIG_PATH && e.fileBytesDone > 0 && e.fileBytesDone < big.byteLength)).toBe(true);
    // A second install finds everything and requests nothing but pack.json.
    server.resetStats();
    await install(store);
    expect(server.requests()).toBe(0);
  });

  it('the connection dropped at ten random offsets: resumes by Range, hashes match, bytes ≤ size + one chunk per drop', async () => {
    const store = freshStore();
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const offsets = Array.from({ length: 10 }, () => 1 + Math.floor(rand() * (big.byteLength - 2))).sort((a, b) => a - b);
    server.knobs.abortAt.set(BIG_PATH, [...offsets]);
    await install(store);
    expect(await storedSha(store)).toBe(bigFile.sha256);
    expect((await store.getFile(PACK, BIG_PATH))?.state).toBe('installed');
    expect(server.knobs.abortAt.get(BIG_PATH)).toEqual([]);
    const sent = server.bytesSent(BIG_PATH);
    expect(sent).toBeLessThanOrEqual(big.byteLength + 10 * CHUNK);
    const ranged = server.log.filter((l) => l.path === BIG_PATH && l.range);
    expect(ranged.length).toBeGreaterThanOrEqual(5);
    expect(ranged.every((l) => l.status === 206 && Number(l.range!.match(/bytes=(\d+)-/)![1]) % CHUNK === 0)).toBe(true);
  });

  it('a corrupt byte once: the file is refetched and installed', async () => {
    const store = freshStore();
    server.knobs.corrupt.set(BIG_PATH, { offset: 300_000, times: 1 });
    await install(store);
    expect(await storedSha(store)).toBe(bigFile.sha256);
    expect(server.requests(BIG_PATH)).toBe(2);
  });

  it('a corrupt byte every time: MODEL_FILE_CORRUPT naming the file, nothing of it installed', async () => {
    const store = freshStore();
    server.knobs.corrupt.set(BIG_PATH, { offset: 5, times: Infinity });
    const e = await errorOf(install(store));
    expect(e.code).toBe('MODEL_FILE_CORRUPT');
    expect(e.message).toContain(BIG_PATH);
    expect(e.details?.file).toBe(BIG_PATH);
    expect(server.requests(BIG_PATH)).toBe(2);
    expect(await store.getFile(PACK, BIG_PATH)).toBeUndefined();
    expect(await store.chunkKeys(PACK)).toEqual([]);
    expect((await store.getPack(PACK))?.state).toBe('installing');
  });

  it('a server that ignores Range: the file restarts cleanly from byte 0 and finishes', async () => {
    const store = freshStore();
    server.knobs.abortAt.set(BIG_PATH, [400_000]);
    server.knobs.ignoreRange = true;
    await install(store);
    expect(await storedSha(store)).toBe(bigFile.sha256);
    const reqs = server.log.filter((l) => l.path === BIG_PATH);
    expect(reqs).toHaveLength(2);
    expect(reqs[1]!.range).toMatch(/^bytes=\d+-$/);
    expect(reqs[1]!.status).toBe(200);
    expect((await store.getFile(PACK, BIG_PATH))?.chunks.reduce((s, c) => s + c.bytes, 0)).toBe(big.byteLength);
  });

  it('not enough space: STORAGE_FULL with needed and available bytes, before any request for weights', async () => {
    const store = freshStore();
    let persisted = false;
    const e = await errorOf(
      install(store, {
        storage: { estimate: async () => ({ usage: 1000, quota: 500_000 }), persist: async () => (persisted = true) },
      }),
    );
    expect(e.code).toBe('STORAGE_FULL');
    expect(e.details).toMatchObject({ neededBytes: big.byteLength, availableBytes: 499_000 });
    expect(e.message).toMatch(/needs .*\(1060921 bytes\).*\(499000 bytes\) is available/);
    expect(server.requests()).toBe(0);
    expect(persisted).toBe(false);
    expect(await store.fileRecords(PACK)).toEqual([]);
    // With room, persistence is requested.
    await install(store, { storage: { estimate: async () => ({ usage: 0, quota: 1e9 }), persist: async () => (persisted = true) } });
    expect(persisted).toBe(true);
  });

  it('a QuotaExceededError mid-way: STORAGE_FULL, chunks kept; the next install resumes from them', async () => {
    const store = freshStore();
    const realPut = IDBObjectStore.prototype.put;
    let blobs = 0;
    IDBObjectStore.prototype.put = function (this: IDBObjectStore, value: unknown, key?: IDBValidKey) {
      if (value instanceof Blob && ++blobs > 5) throw new DOMException('quota', 'QuotaExceededError');
      return realPut.call(this, value, key);
    };
    try {
      const e = await errorOf(install(store));
      expect(e.code).toBe('STORAGE_FULL');
      expect(e.message).toContain(BIG_PATH);
    } finally {
      IDBObjectStore.prototype.put = realPut;
    }
    expect((await store.getFile(PACK, BIG_PATH))?.chunks).toHaveLength(5);
    server.resetStats();
    await install(store);
    expect(await storedSha(store)).toBe(bigFile.sha256);
    expect(server.bytesSent(BIG_PATH)).toBe(big.byteLength - 5 * CHUNK);
  });

  it('cancel (AbortSignal) keeps what arrived; a new store object ("reload") resumes from the last chunk', async () => {
    const store = freshStore();
    server.knobs.throttleBytesPerSec = 2_000_000;
    const ac = new AbortController();
    const seen: DownloadProgress[] = [];
    const run = install(store, {
      signal: ac.signal,
      progressIntervalMs: 0,
      onProgress: (p) => {
        seen.push(p);
        if (p.fileBytesDone > 5 * CHUNK + 100) ac.abort();
      },
    });
    const e = await errorOf(run);
    expect(e.code).toBe('CANCELLED');
    const partial = (await store.getFile(PACK, BIG_PATH))!;
    expect(partial.state).toBe('partial');
    expect(partial.chunks.length).toBeGreaterThanOrEqual(5);
    server.knobs.throttleBytesPerSec = 0;
    server.resetStats();
    const reloaded = new WeightStore({ name: `dl-test-${n}`, chunkBytes: CHUNK });
    await install(reloaded);
    expect(await storedSha(reloaded)).toBe(bigFile.sha256);
    expect(server.bytesSent(BIG_PATH)).toBe(big.byteLength - partial.chunks.length * CHUNK);
    expect(seen.some((p) => p.bytesPerSecond !== null && p.etaMs !== null)).toBe(true);
  });

  it('two installs at once (two tabs): the file is downloaded once; the second waits and finds it installed', async () => {
    const name = `dl-test-${++n}`;
    const tabA = new WeightStore({ name, chunkBytes: CHUNK });
    const tabB = new WeightStore({ name, chunkBytes: CHUNK });
    const locks = localLocks(); // navigator.locks is shared by an origin's tabs
    server.knobs.throttleBytesPerSec = 4_000_000;
    const statesB: string[] = [];
    const a = install(tabA, { locks });
    await new Promise((r) => setTimeout(r, 60));
    const b = install(tabB, { locks, pollMs: 50, onProgress: (p) => statesB.push(p.state) });
    const [ra, rb] = await Promise.all([a, b]);
    expect(ra.state).toBe('installed');
    expect(rb.state).toBe('installed');
    expect(server.requests(BIG_PATH)).toBe(1);
    expect(statesB).toContain('waiting');
    expect(await storedSha(tabB)).toBe(bigFile.sha256);
  });

  it('retries with backoff give up with MODEL_FILE_MISSING when the host stays unreachable', async () => {
    const store = freshStore();
    let calls = 0;
    const e = await errorOf(
      install(store, {
        retries: 2,
        fetch: async (input, init) => {
          if (String(input).endsWith('pack.json')) return fetch(input, init);
          calls++;
          throw new TypeError('Failed to fetch');
        },
      }),
    );
    expect(e.code).toBe('MODEL_FILE_MISSING');
    expect(e.message).toContain(BIG_PATH);
    expect(calls).toBe(3);
  });
});

describe('convert while downloading', () => {
  it('converts the export over HTTP byte ranges into the store, then the pack loads from it', async () => {
    const store = freshStore();
    const installer = new PackInstaller(store, { storage: null, locks: localLocks() });
    const events: ProgressEvent[] = [];
    const info = await installer.installFromExport({ modelId: 'tiny-sd3-q4', exportUrl: server.url, variants: ['q4'] }, WASM, (e) => events.push(e));
    expect(info).toMatchObject({ id: 'tiny-sd3-q4', state: 'installed', source: { kind: 'export', exportUrl: server.url } });
    expect(info.variants.transformer).toBe('q4');
    expect(events.some((e) => e.phase === 'downloading' && e.state === 'converting')).toBe(true);
    // Weights were read by range, never whole.
    expect(server.log.filter((l) => l.path === 'transformer/model.onnx_data' && l.method === 'GET').every((l) => l.range !== null)).toBe(true);
    expect(await installer.isInstalledFor('tiny-sd3-q4', WASM)).toBe(true);
    const m = JSON.parse(new TextDecoder().decode(await store.modelSource('tiny-sd3-q4').readBytes('pack.json'))) as PackManifest;
    expect(m.id).toBe('tiny-sd3-q4');
    expect((await store.verifyPack('tiny-sd3-q4')).ok).toBe(true);
  });
});

describe('loading from the store', () => {
  it('install through PackInstaller, then load and generate with no network at all (onnxruntime-node)', async () => {
    const store = freshStore();
    const installer = new PackInstaller(store, { storage: null, locks: localLocks() });
    const backend: BackendInfo = { kind: 'wasm', description: 'onnxruntime-node', shaderF16: false, threads: 1, crossOriginIsolated: false };
    const runtime = async () => ({
      runner: new SessionRunner(ortNode as unknown as OrtModule, { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1 }),
      backend,
    });
    const phases: ProgressEvent['phase'][] = [];
    const engine = new GeneratorEngine({
      createRuntime: runtime,
      sourceFor: () => {
        throw new Error('the HTTP source must not be used');
      },
      prepareSource: (req, b, onProgress) => installer.prepare(req, b, onProgress),
    });
    await engine.load({ modelId: PACK, baseUrl: server.url }, (e) => phases.push(e.phase));
    expect(phases).toContain('downloading');
    expect(phases).toContain('loading');
    expect(await installer.isInstalledFor(PACK, WASM)).toBe(true);
    await engine.unload();

    // Offline: a fetch that always fails; the load reads only the store.
    const offline = new PackInstaller(new WeightStore({ name: `dl-test-${n}`, chunkBytes: CHUNK }), {
      storage: null,
      fetch: async () => {
        throw new TypeError('offline');
      },
    });
    server.resetStats();
    const engine2 = new GeneratorEngine({ createRuntime: runtime, sourceFor: () => { throw new Error('no'); }, prepareSource: (req, b, p) => offline.prepare(req, b, p) });
    const phases2: string[] = [];
    const model = await engine2.load({ modelId: PACK, baseUrl: server.url }, (e) => phases2.push(e.phase));
    expect(phases2).not.toContain('downloading');
    expect(server.log).toHaveLength(0);
    const r = await engine2.generate({ jobId: 'j', prompt: 'a red fox', width: 64, height: 64, steps: 2, guidance: 4.5, seed: 1 });
    expect(r.image.width).toBe(64);
    expect(model.modelId).toBe(PACK);
    await engine2.unload();
  });
});
