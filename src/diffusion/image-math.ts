/**
 * Pure per-element math around the models: guidance, VAE latent scaling and image post-processing.
 */

/** Classifier-free guidance is on iff guidance > 1 (diffusers: `guidance_scale > 1`). */
export function guidanceEnabled(guidance: number): boolean {
  return guidance > 1;
}

/**
 * Combines a [negative ; positive] batch-2 velocity: v = v_uncond + g·(v_cond − v_uncond).
 * `both` holds 2·n values (uncond first); the result has n.
 */
export function combineGuidance(both: Float32Array, guidance: number, out = new Float32Array(both.length / 2)): Float32Array {
  const n = both.length / 2;
  if (!Number.isInteger(n)) throw new RangeError('guidance input must hold two equal halves');
  for (let k = 0; k < n; k++) {
    const u = both[k]!;
    out[k] = u + guidance * (both[n + k]! - u);
  }
  return out;
}

/** Pipeline latents → VAE input: z / scaling + shift (contract §1.7, §4). */
export function unscaleLatents(latents: Float32Array, scaling: number, shift: number): Float32Array {
  const out = new Float32Array(latents.length);
  for (let k = 0; k < latents.length; k++) out[k] = latents[k]! / scaling + shift;
  return out;
}

/** VAE output → pipeline latents (img2img): (z − shift) · scaling. */
export function scaleLatents(latents: Float32Array, scaling: number, shift: number): Float32Array {
  const out = new Float32Array(latents.length);
  for (let k = 0; k < latents.length; k++) out[k] = (latents[k]! - shift) * scaling;
  return out;
}

const f32 = Math.fround;

/** One channel value in [-1, 1] → byte, in float32 like torch/numpy, rounding half to even like numpy. */
export function toByte(x: number): number {
  return roundHalfEven(f32(Math.min(1, Math.max(0, f32(f32(x / 2) + 0.5))) * 255));
}

/** numpy's round(): halves go to the even neighbour. */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Decoded sample [1, 3, H, W] in about [-1, 1] → RGBA bytes (HWC): clamp(x/2 + 0.5, 0, 1), round(·255)
 * as diffusers' VaeImageProcessor (denormalize + numpy_to_pil); alpha 255.
 */
export function sampleToRgba(sample: Float32Array, width: number, height: number, batchIndex = 0): Uint8ClampedArray {
  const plane = width * height;
  if (sample.length < (batchIndex + 1) * 3 * plane) throw new RangeError('sample smaller than 3×H×W');
  const base = batchIndex * 3 * plane;
  const rgba = new Uint8ClampedArray(plane * 4);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) rgba[p * 4 + c] = toByte(sample[base + c * plane + p]!);
    rgba[p * 4 + 3] = 255;
  }
  return rgba;
}
