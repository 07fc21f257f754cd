/** Small helpers shared by the unit tests. */
import { createHash } from 'node:crypto';
import type { WebDiffusionError } from '../src/errors.js';

/** The error `p` rejects with (fails the test when it resolves). */
export async function errorOf(p: Promise<unknown>): Promise<WebDiffusionError> {
  try {
    await p;
  } catch (e) {
    return e as WebDiffusionError;
  }
  throw new Error('expected an error');
}

export const sha = (d: Uint8Array): string => createHash('sha256').update(d).digest('hex');

/** `len` deterministic pseudo-random bytes (an LCG; different seeds give different bytes). */
export function bytes(len: number, seed = 1): Uint8Array {
  const out = new Uint8Array(len);
  let x = seed;
  for (let i = 0; i < len; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}
