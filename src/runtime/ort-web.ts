/**
 * The one module that imports onnxruntime-web. It probes the device (lazily, inside the worker),
 * picks the backend, configures the WASM runtime and hands back a SessionRunner.
 *
 * Which onnxruntime-web build runs is one switch: the default import is the JSEP build (TypeScript
 * WebGPU kernels); `createWebRuntimeWith(ortWebgpu)` with `import * as ortWebgpu from
 * 'onnxruntime-web/webgpu'` runs the native C++ WebGPU EP (asyncify build) through the same code.
 */
import * as ortJsep from 'onnxruntime-web';
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

/** navigator.deviceMemory (Chromium only; GiB, capped at 8), also inside workers. */
function deviceMemory(): { deviceMemoryGiB?: number } {
  const value = (globalThis.navigator as (Navigator & { deviceMemory?: number }) | undefined)?.deviceMemory;
  return typeof value === 'number' && value > 0 ? { deviceMemoryGiB: value } : {};
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
    ...deviceMemory(),
  };
}

export interface WebRuntime {
  runner: SessionRunner;
  backend: BackendInfo;
}

let configuredWasmThreads: number | null = null;

/**
 * Device limits that onnxruntime-web's JSEP backend leaves at the WebGPU defaults when it creates its
 * device (it raises only buffer sizes and workgroup limits). Its Split kernel binds every output as its
 * own storage buffer, so SD3.5's 9-way `chunk` of the AdaLayerNormZeroX modulation (1 input + 9
 * outputs = 10 buffers) exceeds the default 8 per stage: the pipeline is invalid, JSEP only logs the
 * validation error, and the outputs are whatever the pooled GPU buffers held (different every run).
 */
const RAISED_LIMITS = ['maxStorageBuffersPerShaderStage'] as const;

/**
 * Graph fusions JSEP cannot run. SkipLayerNormFusion: with pinned shapes ORT fuses residual Add +
 * LayerNormalization into SkipLayerNormalization; for a LayerNormalization without a bias (SD3's
 * AdaLN norms) the fused node has an empty beta and a bias, and JSEP's kernel rejects it ("Beta
 * must be 1D": it takes input 3 as present whenever input 4 is). The unfused Add + LayerNorm run fine.
 */
const WEBGPU_DISABLED_FUSIONS = ['SkipLayerNormFusion'];

/** WebGPU errors (validation, out of memory, internal) raised since the last run; JSEP only logs them. */
const pendingGpuErrors: string[] = [];
let webgpuAdapterInstalled = false;

function takeGpuError(): string | undefined {
  if (!pendingGpuErrors.length) return undefined;
  const first = pendingGpuErrors[0]!;
  const more = pendingGpuErrors.length - 1;
  pendingGpuErrors.length = 0;
  return more ? `${first} (and ${more} more)` : first;
}

/**
 * The adapter as JSEP sees it: `requestDevice` also asks for the adapter's own maxima of
 * RAISED_LIMITS, and the device reports its uncaptured errors to `pendingGpuErrors`.
 */
function adapterForOrt(adapter: GPUAdapter): GPUAdapter {
  const raised: Record<string, number> = {};
  for (const name of RAISED_LIMITS) {
    const value = (adapter.limits as unknown as Record<string, unknown>)[name];
    if (typeof value === 'number') raised[name] = value;
  }
  return new Proxy(adapter, {
    get(target, prop) {
      if (prop === 'requestDevice') {
        return async (descriptor: GPUDeviceDescriptor = {}) => {
          const device = await target.requestDevice({ ...descriptor, requiredLimits: { ...descriptor.requiredLimits, ...raised } });
          device.addEventListener('uncapturederror', (ev) => {
            pendingGpuErrors.push((ev as GPUUncapturedErrorEvent).error.message.split('\n')[0] ?? 'unknown WebGPU error');
          });
          return device;
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** The part of an onnxruntime-web build this module configures (both builds have it). */
type OrtWeb = typeof ortJsep;

/** Creates a session runner for the preferred backend on the default (JSEP) build. */
export function createWebRuntime(preference: BackendPreference): Promise<WebRuntime> {
  return createWebRuntimeWith(ortJsep, preference);
}

/** Creates a session runner for the preferred backend. ORT's wasm settings are global and fixed at first use. */
export async function createWebRuntimeWith(ort: OrtWeb, preference: BackendPreference): Promise<WebRuntime> {
  const caps = await detectDeviceCaps();
  const choice = chooseBackend(caps, preference);
  if (configuredWasmThreads === null) {
    // Every core when cross-origin isolated (SharedArrayBuffer), SIMD always: both builds ship only SIMD binaries.
    ort.env.wasm.numThreads = choice.threads;
    ort.env.wasm.simd = true;
    ort.env.wasm.proxy = false;
    configuredWasmThreads = choice.threads;
  }
  // JSEP creates its device once, from the first adapter it is given (and then makes the property read-only).
  if (choice.kind === 'webgpu' && caps.adapter && !webgpuAdapterInstalled) {
    ort.env.webgpu.adapter = adapterForOrt(caps.adapter);
    webgpuAdapterInstalled = true;
  }
  // NCHW: with JSEP's NHWC default every Conv gets transposes around it and every
  // InstanceNormalization (GroupNorm as Reshape → InstanceNormalization → Reshape, as exported VAEs
  // write it) transposes its whole [N, G, C/G·H·W] input; on SwiftShader that made the VAE decoder ~4× slower.
  const executionProviders: ortJsep.InferenceSession.ExecutionProviderConfig[] =
    choice.kind === 'webgpu' ? [{ name: 'webgpu', preferredLayout: 'NCHW' }] : ['wasm'];
  if (choice.kind === 'wasm' && !ort.env.wasm) {
    throw new WebDiffusionError('BACKEND_UNAVAILABLE', 'WebAssembly is not available in this browser.');
  }
  const runner = new SessionRunner(
    ort,
    // Static shapes are pinned per session (freeDimensionOverrides, src/engine/component-sessions.ts);
    // with them the memory pattern planner can reuse the WASM arena between runs.
    {
      executionProviders,
      graphOptimizationLevel: 'all',
      enableMemPattern: true,
      logSeverityLevel: 3,
      // ORT joins nested `extra` keys with dots: this is the config entry "optimization.disable_specified_optimizers".
      ...(choice.kind === 'webgpu' ? { extra: { optimization: { disable_specified_optimizers: WEBGPU_DISABLED_FUSIONS.join(',') } } } : {}),
    },
    undefined,
    choice.kind === 'webgpu' ? takeGpuError : undefined,
    choice.kind === 'webgpu' ? 'gpu' : 'cpu',
  );
  const threads = configuredWasmThreads;
  return {
    runner,
    backend: {
      kind: choice.kind,
      description: choice.kind === 'webgpu' ? `WebGPU: ${caps.adapterDescription}` : `WebAssembly (${threads} thread${threads === 1 ? '' : 's'}, SIMD)`,
      shaderF16: choice.shaderF16,
      threads,
      crossOriginIsolated: caps.crossOriginIsolated,
      note: choice.note,
      ...(caps.deviceMemoryGiB !== undefined ? { deviceMemoryGiB: caps.deviceMemoryGiB } : {}),
      ...(choice.kind === 'webgpu' && caps.adapter
        ? { gpuLimits: { maxBufferSize: caps.adapter.limits.maxBufferSize, maxStorageBufferBindingSize: caps.adapter.limits.maxStorageBufferBindingSize } }
        : {}),
    },
  };
}
