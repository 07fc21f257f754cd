// Benchmark steps, in a worker like the app's generator: plain fetch, install into the weight
// store, session from the store, session from memory.
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

const steps: Record<string, (a: Args) => Promise<unknown>> = { plainFetch, install, loadFromStore, loadFromMemory, cleanup: async (a) => storeFor(a.format).deletePack(a.modelId) };

self.onmessage = async (e: MessageEvent<{ id: number; step: string; args: Args }>) => {
  try {
    if (e.data.args.chunkMiB) chunkMiB = e.data.args.chunkMiB;
    const value = await steps[e.data.step]!(e.data.args);
    self.postMessage({ id: e.data.id, ok: true, value });
  } catch (err) {
    self.postMessage({ id: e.data.id, ok: false, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
  }
};
