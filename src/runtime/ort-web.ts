/**
 * The one module that imports onnxruntime-web. It probes the device (lazily, inside the worker),
 * picks the backend, configures the WASM runtime and hands back a SessionRunner.
 */
import * as ort from 'onnxruntime-web';
import { WebDiffusionError } from '../errors.js';
import type { BackendInfo, BackendPreference } from '../protocol.js';
import { chooseBackend, type DeviceCaps } from './backend.js';
import { SessionRunner } from './session-runner.js';

interface GpuProbe {
  adapter: GPUAdapter | null;
  description?: string;
}

async function probeWebGpu(): Promise<GpuProbe> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) return { adapter: null };
  try {
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) return { adapter: null };
    const info = adapter.info;
    const description = [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'WebGPU adapter';
    return { adapter, description };
  } catch {
    return { adapter: null };
  }
}

export async function detectDeviceCaps(): Promise<DeviceCaps & { adapter: GPUAdapter | null }> {
  const probe = await probeWebGpu();
  return {
    adapter: probe.adapter,
    webgpu: probe.adapter !== null,
    shaderF16: probe.adapter?.features.has('shader-f16') ?? false,
    adapterDescription: probe.description,
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    hardwareConcurrency: globalThis.navigator?.hardwareConcurrency ?? 1,
  };
}

export interface WebRuntime {
  runner: SessionRunner;
  backend: BackendInfo;
}

let configuredWasmThreads: number | null = null;

/** Creates a session runner for the preferred backend. ORT's wasm settings are global and fixed at first use. */
export async function createWebRuntime(preference: BackendPreference): Promise<WebRuntime> {
  const caps = await detectDeviceCaps();
  const choice = chooseBackend(caps, preference);
  if (configuredWasmThreads === null) {
    ort.env.wasm.numThreads = choice.threads;
    ort.env.wasm.proxy = false;
    configuredWasmThreads = choice.threads;
  }
  if (choice.kind === 'webgpu' && caps.adapter) ort.env.webgpu.adapter = caps.adapter;
  const executionProviders: ort.InferenceSession.ExecutionProviderConfig[] = choice.kind === 'webgpu' ? ['webgpu'] : ['wasm'];
  if (choice.kind === 'wasm' && !ort.env.wasm) {
    throw new WebDiffusionError('BACKEND_UNAVAILABLE', 'WebAssembly is not available in this browser.');
  }
  const runner = new SessionRunner(ort, {
    executionProviders,
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
  });
  const threads = configuredWasmThreads;
  return {
    runner,
    backend: {
      kind: choice.kind,
      description: choice.kind === 'webgpu' ? `WebGPU: ${caps.adapterDescription}` : `WebAssembly (${threads} thread${threads === 1 ? '' : 's'})`,
      shaderF16: choice.shaderF16,
      threads,
      crossOriginIsolated: caps.crossOriginIsolated,
      note: choice.note,
    },
  };
}
