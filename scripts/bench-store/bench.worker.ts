// Benchmark steps, in a worker like the app's generator: plain fetch, install into the weight
// store, session from the store, session from memory.
import { createSHA256 } from 'hash-wasm';
import * as ort from 'onnxruntime-web';
import { installPack } from '../../src/storage/downloader.js';
import { WeightStore } from '../../src/storage/weight-store.js';
import type { PackFile } from '../../src/models/pack-manifest.js';

interface Args {
  base: string;
  modelId: string;
  files: PackFile[];
  format?: 'blob' | 'bytes';
  chunkMiB?: number;
}

ort.env.wasm.numThreads = 1;
const stores = new Map<string, WeightStore>();
let chunkMiB = 64;
const storeFor = (format: 'blob' | 'bytes' = 'blob'): WeightStore => {
  const key = `${format}-${chunkMiB}`;
  if (!stores.has(key)) stores.set(key, new WeightStore({ name: `bench-${key}`, chunkFormat: format, chunkBytes: chunkMiB * 1024 * 1024 }));
  return stores.get(key)!;
};

async function plainFetch({ base, files }: Args) {
  const t0 = performance.now();
  let bytes = 0;
  for (const f of files) {
    const res = await fetch(new URL(f.path, base).href, { cache: 'no-store' });
    const reader = res.body!.getReader();
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      bytes += r.value.byteLength;
    }
  }
  return { ms: performance.now() - t0, bytes };
}

async function install({ base, modelId, files, format }: Args) {
  const store = storeFor(format);
  await store.deletePack(modelId);
  const t0 = performance.now();
  await installPack({ store, modelId, baseUrl: base, select: () => ({ variants: {}, files }) });
  return { ms: performance.now() - t0, bytes: files.reduce((s, f) => s + f.bytes, 0) };
}

/** Reads every stored file back whole (one at a time, as a load does) and checks its sha256. */
async function readBack({ modelId, files, format }: Args) {
  const store = storeFor(format);
  const t0 = performance.now();
  let bytes = 0;
  let largest = 0;
  for (const f of files) {
    let data: Uint8Array | null = await store.readFile(modelId, f.path);
    const digest = (await createSHA256()).init().update(data).digest('hex');
    if (data.byteLength !== f.bytes || digest !== f.sha256) throw new Error(`${f.path}: read back ${data.byteLength} bytes with sha256 ${digest}; expected ${f.bytes}, ${f.sha256}`);
    bytes += data.byteLength;
    largest = Math.max(largest, data.byteLength);
    data = null;
    // Measure one file's read at a time (the page would collect the buffer sooner or later).
    (globalThis as { gc?: () => void }).gc?.();
  }
  return { ms: performance.now() - t0, bytes, largest };
}

async function session(model: Uint8Array, shards: { path: string; data: Uint8Array }[]) {
  const s = await ort.InferenceSession.create(model, { executionProviders: ['wasm'], externalData: shards, graphOptimizationLevel: 'disabled' });
  await s.release();
}

async function loadFromStore({ modelId, files, format }: Args) {
  const store = storeFor(format);
  const t0 = performance.now();
  const [graph, ...rest] = files;
  let model: Uint8Array | null = await store.readFile(modelId, graph!.path);
  let shards: { path: string; data: Uint8Array }[] | null = [];
  for (const f of rest) shards.push({ path: f.path.slice(f.path.lastIndexOf('/') + 1), data: await store.readFile(modelId, f.path) });
  const tRead = performance.now() - t0;
  await session(model, shards);
  model = null;
  shards = null;
  return { ms: performance.now() - t0, readMs: tRead };
}

async function loadFromMemory({ base, files }: Args) {
  const bufs: Uint8Array[] = [];
  for (const f of files) bufs.push(new Uint8Array(await (await fetch(new URL(f.path, base).href, { cache: 'no-store' })).arrayBuffer()));
  const t0 = performance.now();
  await session(bufs[0]!, files.slice(1).map((f, i) => ({ path: f.path.slice(f.path.lastIndexOf('/') + 1), data: bufs[i + 1]! })));
  return { ms: performance.now() - t0 };
}

const steps: Record<string, (a: Args) => Promise<unknown>> = { plainFetch, install, readBack, loadFromStore, loadFromMemory, cleanup: async (a) => storeFor(a.format).deletePack(a.modelId),
  // Before an idle measurement: buffers of earlier steps collected (Chromium runs with --expose-gc).
  gc: async () => (globalThis as { gc?: () => void }).gc?.(),
};

self.onmessage = async (e: MessageEvent<{ id: number; step: string; args: Args }>) => {
  try {
    if (e.data.args.chunkMiB) chunkMiB = e.data.args.chunkMiB;
    const value = await steps[e.data.step]!(e.data.args);
    self.postMessage({ id: e.data.id, ok: true, value });
  } catch (err) {
    self.postMessage({ id: e.data.id, ok: false, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
  }
};
