/**
 * Backend and weight-variant choice: small pure functions over what the device offers
 * (transformers.js' devices.js / dtypes.js habit), so they can be tested without a browser.
 */
import { WebDiffusionError } from '../errors.js';
import type { BackendKind, BackendPreference, Variant } from '../protocol.js';

export interface DeviceCaps {
  /** A WebGPU adapter was obtained. */
  webgpu: boolean;
  shaderF16: boolean;
  adapterDescription?: string;
  crossOriginIsolated: boolean;
  hardwareConcurrency: number;
  /** navigator.deviceMemory (GiB, capped at 8 by browsers) where the browser tells it. */
  deviceMemoryGiB?: number;
}

export interface BackendChoice {
  kind: BackendKind;
  /** WASM threads (1 without cross-origin isolation, since SharedArrayBuffer is then missing). */
  threads: number;
  shaderF16: boolean;
  note?: string;
}

/** Most WASM threads used: ORT's thread pool gains little beyond this and every thread holds a stack. */
export const MAX_WASM_THREADS = 16;

/** WASM threads: every core when cross-origin isolated (up to MAX_WASM_THREADS), else 1. */
export function wasmThreads(caps: Pick<DeviceCaps, 'crossOriginIsolated' | 'hardwareConcurrency'>): number {
  if (!caps.crossOriginIsolated) return 1;
  return Math.max(1, Math.min(MAX_WASM_THREADS, Math.floor(caps.hardwareConcurrency || 1)));
}

export function chooseBackend(caps: DeviceCaps, preference: BackendPreference = 'auto'): BackendChoice {
  const threads = wasmThreads(caps);
  if (preference === 'webgpu' && !caps.webgpu) {
    throw new WebDiffusionError('BACKEND_UNAVAILABLE', 'WebGPU was requested but this browser has no WebGPU adapter.', {
      hint: 'Use a browser with WebGPU enabled (Chrome or Edge 113+, Safari 26+, Firefox 141+ on Windows), or choose the CPU (WebAssembly) backend.',
    });
  }
  if (preference !== 'wasm' && caps.webgpu) {
    return { kind: 'webgpu', threads, shaderF16: caps.shaderF16 };
  }
  const note = preference === 'wasm' ? 'CPU backend chosen by request' : 'no WebGPU adapter: running on the CPU (slow)';
  return { kind: 'wasm', threads, shaderF16: false, note };
}

/** Preference order of weight variants per backend (fp16 math only where the GPU has shader-f16). */
export function variantPreference(choice: Pick<BackendChoice, 'kind' | 'shaderF16'>): Variant[] {
  if (choice.kind === 'webgpu' && choice.shaderF16) return ['q4f16', 'fp16', 'q4', 'fp32'];
  if (choice.kind === 'webgpu') return ['q4', 'fp32'];
  // WASM: fp16 weights run (upcast) but q4 with fp32 activations is smaller and faster.
  return ['q4', 'fp32', 'fp16'];
}

/** The first variant the model offers in this backend's order; an error naming both lists otherwise. */
export function chooseVariant(offered: readonly Variant[], choice: Pick<BackendChoice, 'kind' | 'shaderF16'>): Variant {
  const order = variantPreference(choice);
  const hit = order.find((v) => offered.includes(v));
  if (!hit) {
    throw new WebDiffusionError(
      'MODEL_NOT_AVAILABLE',
      `This model offers only ${offered.join(', ')} weights, which the ${choice.kind === 'webgpu' ? 'WebGPU' : 'WebAssembly'} backend cannot run here.`,
      {
        hint: choice.kind === 'webgpu' && !choice.shaderF16 ? 'fp16 weights need a GPU with the shader-f16 feature.' : 'Pick another model.',
        details: { offered, usable: order },
      },
    );
  }
  return hit;
}

/** transformers.js file naming: fp32 → model.onnx, fp16 → model_fp16.onnx, q4 → model_q4.onnx … */
export function variantFileName(variant: Variant): string {
  return variant === 'fp32' ? 'model.onnx' : `model_${variant}.onnx`;
}
