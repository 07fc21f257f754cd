import { describe, expect, it } from 'vitest';
import { chooseBackend, chooseVariant, variantFileName, wasmThreads } from '../src/runtime/backend.js';

const caps = { webgpu: true, shaderF16: false, crossOriginIsolated: true, hardwareConcurrency: 2 };

describe('backend choice', () => {
  it('takes WebGPU when an adapter exists, WASM otherwise', () => {
    expect(chooseBackend(caps).kind).toBe('webgpu');
    expect(chooseBackend({ ...caps, webgpu: false }).kind).toBe('wasm');
    expect(chooseBackend(caps, 'wasm').kind).toBe('wasm');
  });
  it('refuses an explicit WebGPU request without an adapter', () => {
    expect(() => chooseBackend({ ...caps, webgpu: false }, 'webgpu')).toThrow(/WebGPU/);
  });
  it('uses threads only when cross-origin isolated', () => {
    expect(wasmThreads({ crossOriginIsolated: true, hardwareConcurrency: 2 })).toBe(2);
    expect(wasmThreads({ crossOriginIsolated: false, hardwareConcurrency: 16 })).toBe(1);
    expect(wasmThreads({ crossOriginIsolated: true, hardwareConcurrency: 12 })).toBe(12);
    expect(wasmThreads({ crossOriginIsolated: true, hardwareConcurrency: 32 })).toBe(16);
  });
});

describe('variant choice', () => {
  it('picks fp16 kinds only with shader-f16', () => {
    const all = ['q4f16', 'fp16', 'q4', 'fp32'] as const;
    expect(chooseVariant(all, { kind: 'webgpu', shaderF16: true })).toBe('q4f16');
    expect(chooseVariant(all, { kind: 'webgpu', shaderF16: false })).toBe('q4');
    expect(chooseVariant(['fp16', 'fp32'], { kind: 'webgpu', shaderF16: false })).toBe('fp32');
    expect(chooseVariant(['fp32'], { kind: 'wasm', shaderF16: false })).toBe('fp32');
  });
  it('says why when nothing fits', () => {
    expect(() => chooseVariant(['fp16', 'q4f16'], { kind: 'webgpu', shaderF16: false })).toThrow(/shader-f16|cannot run/);
  });
  it('names files as transformers.js does', () => {
    expect(variantFileName('fp32')).toBe('model.onnx');
    expect(variantFileName('q4f16')).toBe('model_q4f16.onnx');
  });
});
