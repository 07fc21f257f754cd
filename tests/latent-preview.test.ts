import { describe, expect, it } from 'vitest';
import { latentPreview, SD3_LATENT_RGB_BIAS, SD3_LATENT_RGB_FACTORS } from '../src/diffusion/latent-preview.js';

describe('latent preview (contract §11)', () => {
  it('zero estimate → the bias colour', () => {
    const x = new Float32Array(16 * 2);
    const rgba = latentPreview(x, new Float32Array(x.length), 0.5, 16, 1, 2);
    const expected = SD3_LATENT_RGB_BIAS.map((b) => Math.round(((b + 1) / 2) * 255));
    expect(Array.from(rgba)).toEqual([...expected, 255, ...expected, 255]);
  });
  it('uses x0 = x − σ·v and the per-channel factors', () => {
    // one pixel; only channel 2 non-zero in x0: x = 1, v = −1, σ = 0.5 → x0 = 1.5
    const x = new Float32Array(16);
    const v = new Float32Array(16);
    x[2] = 1;
    v[2] = -1;
    const rgba = latentPreview(x, v, 0.5, 16, 1, 1);
    const f = SD3_LATENT_RGB_FACTORS[2]!;
    const want = [0, 1, 2].map((k) => Math.round(((SD3_LATENT_RGB_BIAS[k]! + 1.5 * f[k]! + 1) / 2) * 255));
    expect(Array.from(rgba.subarray(0, 3))).toEqual(want);
  });
  it('clamps to [0, 255] and lays out planes as pixels', () => {
    const x = new Float32Array(16 * 4).fill(100);
    const rgba = latentPreview(x, new Float32Array(x.length), 0, 16, 2, 2);
    expect(rgba.length).toBe(16);
    for (let p = 0; p < 4; p++) expect(rgba[p * 4 + 3]).toBe(255);
    expect(Array.from(rgba).every((b) => b === 0 || b === 255)).toBe(true);
  });
});
