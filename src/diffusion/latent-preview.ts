/**
 * Cheap step previews without the VAE (contract §11, ComfyUI's SD3 latent format): the denoised
 * estimate x0 = x − σ·v, mapped per latent pixel through a fixed 16×3 matrix plus bias to RGB.
 */

/** Rows: latent channels 0..15; columns: R, G, B. */
export const SD3_LATENT_RGB_FACTORS: readonly (readonly [number, number, number])[] = [
  [-0.0922, -0.0175, 0.0749],
  [0.0311, 0.0633, 0.0954],
  [0.1994, 0.0927, 0.0458],
  [0.0856, 0.0339, 0.0902],
  [0.0587, 0.0272, -0.0496],
  [-0.0006, 0.1104, 0.0309],
  [0.0978, 0.0306, 0.0427],
  [-0.0042, 0.1038, 0.1358],
  [-0.0194, 0.002, 0.0669],
  [-0.0488, 0.013, -0.0268],
  [0.0922, 0.0988, 0.0951],
  [-0.0278, 0.0524, -0.0542],
  [0.0332, 0.0456, 0.0895],
  [-0.0069, -0.003, -0.081],
  [-0.0596, -0.0465, -0.0293],
  [-0.1448, -0.1463, -0.1189],
];
export const SD3_LATENT_RGB_BIAS: readonly [number, number, number] = [0.2394, 0.2135, 0.1925];

/**
 * RGBA preview [h, w] of the denoised estimate of latents `x` [1, C, h, w] with velocity `v` at `sigma`.
 * Channels beyond the factor table (none for SD3) are ignored.
 */
export function latentPreview(x: Float32Array, v: Float32Array, sigma: number, channels: number, height: number, width: number): Uint8ClampedArray {
  const plane = height * width;
  const rgba = new Uint8ClampedArray(plane * 4);
  const used = Math.min(channels, SD3_LATENT_RGB_FACTORS.length);
  for (let p = 0; p < plane; p++) {
    let r = SD3_LATENT_RGB_BIAS[0];
    let g = SD3_LATENT_RGB_BIAS[1];
    let b = SD3_LATENT_RGB_BIAS[2];
    for (let c = 0; c < used; c++) {
      const k = c * plane + p;
      const x0 = x[k]! - sigma * v[k]!;
      const f = SD3_LATENT_RGB_FACTORS[c]!;
      r += x0 * f[0];
      g += x0 * f[1];
      b += x0 * f[2];
    }
    // Uint8ClampedArray clamps and rounds: clamp((rgb + 1) / 2, 0, 1) · 255.
    rgba[p * 4] = ((r + 1) / 2) * 255;
    rgba[p * 4 + 1] = ((g + 1) / 2) * 255;
    rgba[p * 4 + 2] = ((b + 1) / 2) * 255;
    rgba[p * 4 + 3] = 255;
  }
  return rgba;
}

/**
 * The step graph's `preview_rgb` [1, 3, h, w] (already ((rgb + 1) / 2)·255, computed on the GPU) →
 * RGBA bytes; Uint8ClampedArray clamps and rounds as latentPreview does.
 */
export function previewPlanesToRgba(planes: Float32Array, height: number, width: number): Uint8ClampedArray {
  const plane = height * width;
  if (planes.length < 3 * plane) throw new RangeError('preview planes smaller than 3×h×w');
  const rgba = new Uint8ClampedArray(plane * 4);
  for (let p = 0; p < plane; p++) {
    rgba[p * 4] = planes[p]!;
    rgba[p * 4 + 1] = planes[plane + p]!;
    rgba[p * 4 + 2] = planes[2 * plane + p]!;
    rgba[p * 4 + 3] = 255;
  }
  return rgba;
}
