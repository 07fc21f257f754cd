/**
 * The parameters of one image, as the page sees them: what the form holds, what history stores,
 * what share links and PNG metadata carry. Pure data and formatting, no DOM.
 */

export interface GenerationParams {
  prompt: string;
  negativePrompt: string;
  width: number;
  height: number;
  steps: number;
  guidance: number;
  /** null: a fresh random seed for each image. */
  seed: number | null;
  modelId: string;
}

/** The parameters of an image that exists: its seed is known. */
export interface ImageParams extends GenerationParams {
  seed: number;
}

export const APP_VERSION = 'webdiffusion 0.1.0';
export const MAX_SEED = 2 ** 32 - 1;
export const MAX_IMAGES = 8;

/** The seeds of a batch of `count` images: s, s+1, … (wrapping at 2^32) or all random (null). */
export function batchSeeds(seed: number | null, count: number): (number | null)[] {
  return Array.from({ length: count }, (_, i) => (seed === null ? null : (seed + i) % (MAX_SEED + 1)));
}

/** "256×256 · 8 steps · CFG 4.5 · seed 1234" */
export function describeParams(p: GenerationParams): string {
  return `${p.width}×${p.height} · ${p.steps} steps · CFG ${p.guidance} · seed ${p.seed ?? 'random'}`;
}
