/**
 * Reading `../shared/reference/tiny-sd3/` (ground truth made by diffusers itself; read-only, in place):
 * `.npy` arrays, raw float32 `.bin` files and each case's `case.json`. WEBDIFFUSION_REFERENCE overrides
 * the folder.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

function findReference(): string | null {
  const candidates = [process.env.WEBDIFFUSION_REFERENCE, '../shared/reference/tiny-sd3', 'shared/reference/tiny-sd3'];
  for (const c of candidates) if (c && existsSync(join(c, 'README.md'))) return resolve(c);
  return null;
}

/** Absolute path of the reference folder, or null where this checkout has none beside it. */
export const REFERENCE_DIR = findReference();
/** Why reference tests are skipped (only where the folder is missing). */
export const NO_REFERENCE = 'needs ../shared/reference/tiny-sd3 (set WEBDIFFUSION_REFERENCE to its path)';

export function referencePath(...parts: string[]): string {
  if (!REFERENCE_DIR) throw new Error(NO_REFERENCE);
  return join(REFERENCE_DIR, ...parts);
}

export interface NpyArray {
  shape: number[];
  data: Float32Array;
}

/** A little-endian float32 C-order `.npy` file (the only kind the reference holds). */
export function readNpy(path: string): NpyArray {
  const buf = readFileSync(path);
  if (buf.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${path}: not a .npy file`);
  const major = buf[6]!;
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + headerLen);
  if (!header.includes("'descr': '<f4'") || header.includes("'fortran_order': True")) throw new Error(`${path}: expected little-endian float32, C order: ${header}`);
  const shape = [...header.match(/'shape': \(([^)]*)\)/)![1]!.matchAll(/\d+/g)].map((m) => Number(m[0]));
  const offset = start + headerLen;
  const bytes = buf.subarray(offset);
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  return { shape, data };
}

/** A raw little-endian float32 file. */
export function readF32(path: string): Float32Array {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

export interface ReferenceCase {
  case: string;
  kind: 't2i' | 'i2i' | 'inp';
  prompt: string;
  negative_prompt: string;
  guidance_scale: number;
  num_inference_steps: number;
  width: number;
  height: number;
  seed: number;
  strength?: number;
  tokens: Record<'prompt' | 'negative_prompt', Record<'tokenizer' | 'tokenizer_2' | 'tokenizer_3', { ids: number[]; untruncated_len: number }>>;
  randn_draws: { order: number; who: string; shape: number[] }[];
  timesteps_used?: number[];
  scheduler_sigmas: number[];
  scheduler_timesteps: number[];
  image_uint8_sha256: string;
}

export const REFERENCE_CASES = ['t2i_cat_g4.5_n8_s42', 'i2i_cat_g4.5_n10_str0.6_s5', 'inp_cat_g4.5_n10_str0.8_s9'] as const;

export function readCase(name: string): ReferenceCase {
  return JSON.parse(readFileSync(referencePath('cases', name, 'case.json'), 'utf8')) as ReferenceCase;
}

/** Largest absolute difference of two equally long arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
