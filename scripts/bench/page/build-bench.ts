/**
 * Times one transformer graph on a given onnxruntime-web build (default JSEP or /webgpu), on its
 * WASM or WebGPU execution provider: session creation and step times, the same feeds as the app worker.
 */
import { httpModelSource } from '../../../src/models/model-source.js';
import { SessionRunner, type OrtModule } from '../../../src/runtime/session-runner.js';
import { createTransformerSession, readPackManifest, timeSteps, transformerFeeds } from '../transformer-timing.js';
import { serveSteps } from './serve-steps.js';

interface OrtWithEnv extends OrtModule {
  env: { wasm: { numThreads?: number; proxy?: boolean }; webgpu: { adapter?: unknown } };
}

/** As the app does (src/runtime/ort-web.ts): SD3.5's 9-way Split needs more storage buffers than the default 8. */
async function raisedAdapter(): Promise<GPUAdapter | null> {
  const adapter = await navigator.gpu?.requestAdapter();
  if (!adapter) return null;
  const limit = adapter.limits.maxStorageBuffersPerShaderStage;
  return new Proxy(adapter, {
    get(target, prop) {
      if (prop === 'requestDevice') {
        return (d: GPUDeviceDescriptor = {}) => target.requestDevice({ ...d, requiredLimits: { ...d.requiredLimits, maxStorageBuffersPerShaderStage: limit } });
      }
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

let configured = false;

export function startBuildBench(ortModule: unknown, build: string): void {
  const ort = ortModule as OrtWithEnv;
  serveSteps({
    async time(a: { baseUrl: string; ep: 'wasm' | 'webgpu'; side: number; batch: number; runs: number; warmup: number; threads: number; variant?: string }) {
      if (!configured) {
        ort.env.wasm.numThreads = a.threads;
        ort.env.wasm.proxy = false;
        if (a.ep === 'webgpu') {
          const adapter = await raisedAdapter();
          if (!adapter) throw new Error('no WebGPU adapter');
          ort.env.webgpu.adapter = adapter;
        }
        configured = true;
      }
      const runner = new SessionRunner(ort, {
        executionProviders: a.ep === 'webgpu' ? [{ name: 'webgpu', preferredLayout: 'NCHW' } as never] : ['wasm'],
        graphOptimizationLevel: 'all',
        logSeverityLevel: 3,
      });
      const source = httpModelSource(a.baseUrl);
      const t0 = performance.now();
      const session = await createTransformerSession(source, runner, a.variant);
      const createMs = performance.now() - t0;
      const times = await timeSteps(session, transformerFeeds(await readPackManifest(source), a.side, a.batch), a.runs, a.warmup);
      await session.release();
      return { build, ep: a.ep, createMs, times };
    },
  });
}
