/**
 * What this machine can do, told plainly: the capability panel, the one-line backend summary under
 * the image, and the notice shown when generation falls back to the CPU.
 */
import type { LoadedModel } from '../protocol.js';

import { formatBytes } from '../shared/format-bytes.js';

export function backendSummary(model: LoadedModel): string {
  const b = model.backend;
  return `${b.description} · shader-f16: ${b.shaderF16 ? 'yes' : 'no'} · cross-origin isolated: ${b.crossOriginIsolated ? 'yes' : 'no'} · weights: ${model.variant}`;
}

/** The memory mode in use and why, e.g. "Fast: all weights (2.6 MiB) fit …". */
export function memorySummary(memory: NonNullable<LoadedModel['memory']>): string {
  return `${memory.mode === 'fast' ? 'Fast (every part stays loaded)' : 'Low memory (one part loaded at a time)'}: ${memory.reason}.`;
}

export const CPU_NOTICE = 'WebGPU is not available, so images are computed on the CPU and will be slow.';
const ENABLE_WEBGPU: [string, string][] = [
  ['Chrome, Edge', 'on by default since version 113 on Windows, macOS and ChromeOS. On Linux, turn on chrome://flags/#enable-unsafe-webgpu and chrome://flags/#enable-vulkan; chrome://gpu tells what is active.'],
  ['Firefox', 'on by default since version 141 on Windows. Elsewhere, set dom.webgpu.enabled to true in about:config.'],
  ['Safari', 'on by default since Safari 26. In Safari 18, turn on Develop → Feature Flags → WebGPU.'],
];

/** The notice shown when generation runs on the CPU, with how to turn WebGPU on. */
export function renderCpuNotice(box: HTMLElement, show: boolean): void {
  box.hidden = !show;
  box.replaceChildren();
  if (!show) return;
  const how = document.createElement('details');
  const summary = document.createElement('summary');
  summary.textContent = 'How to turn WebGPU on';
  const list = document.createElement('ul');
  for (const [browser, text] of ENABLE_WEBGPU) {
    const li = document.createElement('li');
    const b = document.createElement('strong');
    b.textContent = `${browser}: `;
    li.append(b, text);
    list.append(li);
  }
  how.append(summary, list);
  box.append(CPU_NOTICE, how);
}

export interface StorageInfo {
  usage: number;
  quota: number;
}

export async function storageEstimate(): Promise<StorageInfo | null> {
  try {
    const e = await navigator.storage?.estimate?.();
    return e && typeof e.usage === 'number' && typeof e.quota === 'number' ? { usage: e.usage, quota: e.quota } : null;
  } catch {
    return null;
  }
}

export function renderCapabilities(list: HTMLElement, model: LoadedModel | null, storage: StorageInfo | null): void {
  const rows: [string, string][] = [];
  const b = model?.backend;
  rows.push(['Backend', b ? (b.kind === 'webgpu' ? 'WebGPU (GPU)' : 'WebAssembly (CPU)') : 'not chosen yet (the model is loading)']);
  if (b) {
    rows.push([b.kind === 'webgpu' ? 'Adapter' : 'Engine', b.description]);
    if (b.note) rows.push(['Why', b.note]);
    rows.push(['shader-f16', b.shaderF16 ? 'yes' : 'no']);
    if (b.gpuLimits) {
      rows.push(['Max buffer', formatBytes(b.gpuLimits.maxBufferSize)]);
      rows.push(['Max storage binding', formatBytes(b.gpuLimits.maxStorageBufferBindingSize)]);
    } else rows.push(['GPU buffer limits', 'no WebGPU adapter']);
    rows.push(['Cross-origin isolated', b.crossOriginIsolated ? 'yes' : 'no (WebAssembly runs single-threaded)']);
    rows.push(['WASM threads', String(b.threads)]);
  } else {
    rows.push(['WebGPU in this browser', 'gpu' in navigator ? 'present (adapter checked when the model loads)' : 'no']);
    rows.push(['Cross-origin isolated', self.crossOriginIsolated ? 'yes' : 'no']);
  }
  if (model) {
    const variants = Object.entries(model.variants)
      .map(([c, v]) => `${c} ${v}`)
      .join(', ');
    rows.push(['Weights', variants || model.variant]);
  }
  if (model?.memory) rows.push(['Memory mode', memorySummary(model.memory)]);
  if (b?.deviceMemoryGiB !== undefined) rows.push(['Device memory', `${b.deviceMemoryGiB >= 8 ? 'at least ' : ''}${b.deviceMemoryGiB} GiB (as the browser reports it)`]);
  rows.push(['Storage', storage ? `${formatBytes(storage.usage)} used of ${formatBytes(storage.quota)} available to this site` : 'not reported by this browser']);
  list.replaceChildren(
    ...rows.flatMap(([k, v]) => {
      const dt = document.createElement('dt');
      dt.textContent = k;
      const dd = document.createElement('dd');
      dd.textContent = v;
      return [dt, dd];
    }),
  );
}
