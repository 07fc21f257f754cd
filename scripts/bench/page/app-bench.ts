/**
 * Steps of the app worker: transformer step timing on the app's web runtime, and the app's engine
 * (createWorkerApi: store, installer, pipeline) for generation, load and memory figures.
 */
import { createWorkerApi } from '../../../src/engine/worker-api.js';
import { loadSd3Pipeline, releasePipeline } from '../../../src/engine/load-sd3.js';
import { httpModelSource, type ModelSource } from '../../../src/models/model-source.js';
import type { BackendPreference, GenerateRequest, LoadRequest } from '../../../src/protocol.js';
import { createWebRuntime } from '../../../src/runtime/ort-web.js';
import type { ModelSession } from '../../../src/runtime/session-runner.js';
import { createTransformerSession, readPackManifest, timeSteps, transformerFeeds } from '../transformer-timing.js';
import { gpuTraffic, resetGpuTraffic } from './gpu-traffic.js';
import { serveSteps } from './serve-steps.js';

const transformers = new Map<string, { session: ModelSession; source: ModelSource }>();

/** Every file of a pack in memory (pack.json, tokenizers, extra files, all variants), as a ModelSource. */
async function memorySource(baseUrl: string): Promise<ModelSource> {
  const http = httpModelSource(baseUrl);
  const manifest = await readPackManifest(http);
  const paths = new Set<string>(['pack.json', ...manifest.extraFiles.map((f) => f.path)]);
  for (const files of Object.values(manifest.tokenizers)) for (const f of files ?? []) paths.add(f.path);
  for (const c of Object.values(manifest.components)) for (const v of Object.values(c?.variants ?? {})) for (const f of v?.files ?? []) paths.add(f.path);
  const bytes = new Map<string, Uint8Array>();
  for (const p of paths) bytes.set(p, await http.readBytes(p));
  return {
    description: `memory copy of ${baseUrl}`,
    async readBytes(path) {
      const b = bytes.get(path);
      if (!b) throw new Error(`${path} not in memory`);
      return b;
    },
  };
}

export function startAppBench(): void {
  if (self.name.startsWith('em-pthread')) return; // an onnxruntime WASM thread started from this script
  const api = createWorkerApi();
  serveSteps({
    async openTransformer(a: { key: string; baseUrl: string; backend: BackendPreference }) {
      const { runner, backend } = await createWebRuntime(a.backend);
      const source = httpModelSource(a.baseUrl);
      const t0 = performance.now();
      transformers.set(a.key, { session: await createTransformerSession(source, runner, 'q4'), source });
      return { backend, createMs: performance.now() - t0 };
    },
    async timeTransformer(a: { key: string; side: number; batch: number; runs: number; warmup: number }) {
      const t = transformers.get(a.key);
      if (!t) throw new Error(`no transformer ${a.key}`);
      const feeds = transformerFeeds(await readPackManifest(t.source), a.side, a.batch);
      return timeSteps(t.session, feeds, a.runs, a.warmup);
    },
    async closeTransformer(a: { key: string }) {
      await transformers.get(a.key)?.session.release();
      transformers.delete(a.key);
    },
    load: (a: LoadRequest) => api.load(a),
    unload: () => api.unload(),
    install: (a: LoadRequest) => api.install(a),
    deletePack: (a: { modelId: string }) => api.deletePack(a.modelId),
    /** One generation: its wall time in the worker, the pipeline's stage timings and the WebGPU bytes it moved. */
    async generate(a: GenerateRequest) {
      resetGpuTraffic();
      const t0 = performance.now();
      const r = await api.generate(a);
      const wallMs = performance.now() - t0;
      r.image.close();
      return { wallMs, timings: r.timings, backend: r.backend, traffic: { ...gpuTraffic } };
    },
    /** The loaded model's sessions created again, from bytes already in memory (the reference of "ready from the store"). */
    async memoryLoad(a: { baseUrl: string; backend: BackendPreference }) {
      const t0 = performance.now();
      const source = await memorySource(a.baseUrl);
      const fetchMs = performance.now() - t0;
      const { runner, backend } = await createWebRuntime(a.backend);
      const { pipeline } = await loadSd3Pipeline(source, runner, { backend, verifyHashes: false });
      const createMs = performance.now() - t0 - fetchMs;
      await releasePipeline(pipeline);
      return { fetchMs, createMs };
    },
  });
}
