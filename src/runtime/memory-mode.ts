/**
 * Memory modes. "fast" keeps every component loaded between images; "low-memory" holds one at a
 * time: it encodes the prompt, releases the text encoders, loads the transformer for the denoising
 * loop, releases it, then loads the VAE decoder. Chosen from the weights' size and the device, and
 * overridable by the person. Pure.
 */
import type { BackendKind, MemoryMode, MemoryModePreference } from '../protocol.js';

const GiB = 1024 ** 3;

export interface MemoryDevice {
  backend: BackendKind;
  /**
   * navigator.deviceMemory in GiB (browsers report 0.25 … 8, and 8 for anything larger), or undefined
   * where the browser does not tell (Firefox, Safari).
   */
  deviceMemoryGiB?: number;
  /** The WebGPU adapter's maxBufferSize (a small one marks a GPU that shares little memory). */
  maxBufferSize?: number;
}

export interface MemoryModeChoice {
  mode: MemoryMode;
  reason: string;
  /** Bytes of all components' weights, of the largest one, and the budget they were compared with. */
  totalBytes: number;
  largestBytes: number;
  budgetBytes: number;
}

/** The WASM heap is one 4 GiB wasm32 memory shared by every session, activations included. */
export const WASM_WEIGHT_BUDGET = 3 * GiB;

/**
 * Bytes the loaded weights may take in fast mode: 60 % of the device memory (8 GiB assumed where
 * unknown, and at least 8 when the browser reports its cap of 8), 40 % on a GPU whose largest
 * buffer is under 1 GiB; on WASM never more than WASM_WEIGHT_BUDGET.
 */
export function weightBudget(device: MemoryDevice): number {
  const memory = (device.deviceMemoryGiB ?? 8) * GiB;
  const share = device.backend === 'webgpu' && device.maxBufferSize !== undefined && device.maxBufferSize < GiB ? 0.4 : 0.6;
  const budget = memory * share;
  return device.backend === 'wasm' ? Math.min(budget, WASM_WEIGHT_BUDGET) : budget;
}

const gib = (n: number) => (n >= GiB ? `${(n / GiB).toFixed(1)} GiB` : `${(n / 1024 ** 2).toFixed(1)} MiB`);

export function chooseMemoryMode(componentBytes: Readonly<Record<string, number>>, device: MemoryDevice, preference: MemoryModePreference = 'auto'): MemoryModeChoice {
  const sizes = Object.values(componentBytes);
  const totalBytes = sizes.reduce((a, b) => a + b, 0);
  const largestBytes = sizes.reduce((a, b) => Math.max(a, b), 0);
  const budgetBytes = weightBudget(device);
  const base = { totalBytes, largestBytes, budgetBytes };
  if (preference === 'fast') return { ...base, mode: 'fast', reason: 'chosen in the settings' };
  if (preference === 'low-memory') return { ...base, mode: 'low-memory', reason: 'chosen in the settings' };
  const where = device.backend === 'wasm' ? 'the WebAssembly heap allows' : 'this device should hold';
  return totalBytes <= budgetBytes
    ? { ...base, mode: 'fast', reason: `all weights (${gib(totalBytes)}) fit what ${where} (${gib(budgetBytes)})` }
    : { ...base, mode: 'low-memory', reason: `all weights (${gib(totalBytes)}) exceed what ${where} (${gib(budgetBytes)}): one component at a time` };
}

/**
 * For a fast-mode load of `bytes` (component sizes in load order), whether each component may
 * have the next one's files read while it becomes a session. Creating a session holds its file
 * bytes and the runtime's copy (about twice the component) besides the sessions made before it, so
 * the load peaks at max over i of (Σ earlier + 2 × component i) anyway; reading ahead is allowed
 * where it stays under that peak.
 */
export function readAheadPlan(bytes: readonly number[]): boolean[] {
  let before = 0;
  const at = bytes.map((b) => {
    const peak = before + 2 * b;
    before += b;
    return peak;
  });
  const peak = Math.max(0, ...at);
  return bytes.map((_, i) => i + 1 < bytes.length && at[i]! + bytes[i + 1]! <= peak);
}
