import { describe, expect, it } from 'vitest';
import { combineGuidance, guidanceEnabled, roundHalfEven, sampleToRgba, scaleLatents, toByte, unscaleLatents } from '../src/diffusion/image-math.js';

describe('guidance', () => {
  it('is on only for guidance > 1', () => {
    expect(guidanceEnabled(0)).toBe(false);
    expect(guidanceEnabled(1)).toBe(false);
    expect(guidanceEnabled(1.0001)).toBe(true);
  });
  it('v = v_uncond + g·(v_cond − v_uncond), uncond first', () => {
    const out = combineGuidance(Float32Array.from([1, 2, /* cond */ 3, 6]), 4.5);
    expect(Array.from(out)).toEqual([1 + 4.5 * 2, 2 + 4.5 * 4]);
  });
});

describe('VAE scaling (contract §4)', () => {
  it('unscale z/1.5305 + 0.0609 and scale back', () => {
    const z = Float32Array.from([0, 1, -2.5]);
    const u = unscaleLatents(z, 1.5305, 0.0609);
    expect(u[1]).toBeCloseTo(1 / 1.5305 + 0.0609, 6);
    const back = scaleLatents(u, 1.5305, 0.0609);
    back.forEach((v, i) => expect(v).toBeCloseTo(z[i]!, 5));
  });
});

describe('post-processing (VaeImageProcessor)', () => {
  it('maps [-1, 1] to [0, 255] with clamping', () => {
    expect(toByte(-1)).toBe(0);
    expect(toByte(1)).toBe(255);
    expect(toByte(-3)).toBe(0);
    expect(toByte(7)).toBe(255);
    expect(toByte(0)).toBe(128); // 127.5 rounds half to even → 128
  });
  it('rounds half to even like numpy', () => {
    expect([0.5, 1.5, 2.5, 3.5, 254.5, 2.4999, 2.5001].map(roundHalfEven)).toEqual([0, 2, 2, 4, 254, 2, 3]);
  });
  it('writes NCHW planes into RGBA pixels with opaque alpha', () => {
    // 2×1 image: R plane, G plane, B plane
    const sample = Float32Array.from([-1, 1, /* G */ 1, -1, /* B */ 0, 0]);
    expect(Array.from(sampleToRgba(sample, 2, 1))).toEqual([0, 255, 128, 255, 255, 0, 128, 255]);
  });
});
