import { describe, expect, it } from 'vitest';
import { buildSchedule, eulerStep, img2imgStartIndex, scaleNoise, stepCount, withStart } from '../src/diffusion/scheduler.js';

const SD3 = { numTrainTimesteps: 1000, shift: 3.0 };

// Golden values: SD35_CONTRACT.md §2.6 (diffusers FlowMatchEulerDiscreteScheduler, shift 3.0).
const GOLDEN: Record<number, { sigmas: number[]; timesteps?: number[] }> = {
  4: {
    sigmas: [1.0, 0.857692, 0.602151, 0.008929, 0.0],
    timesteps: [1000.0, 857.6923, 602.1506, 8.9286],
  },
  8: {
    sigmas: [1.0, 0.947543, 0.882788, 0.800837, 0.693793, 0.548046, 0.337972, 0.008929, 0.0],
    timesteps: [1000.0, 947.5425, 882.7878, 800.8373, 693.7931, 548.0456, 337.9722, 8.9286],
  },
  28: {
    sigmas: [
      1.0, 0.987381, 0.974108, 0.960129, 0.945387, 0.929818, 0.913349, 0.8959, 0.877382, 0.857692, 0.836717, 0.814325,
      0.790368, 0.764677, 0.737056, 0.707278, 0.675082, 0.64016, 0.602151, 0.560625, 0.515072, 0.464876, 0.409289,
      0.347393, 0.278049, 0.199827, 0.110906, 0.008929, 0.0,
    ],
    timesteps: [
      1000.0, 987.3806, 974.1077, 960.1293, 945.3875, 929.8179, 913.349, 895.9003, 877.3819, 857.6923, 836.7167,
      814.3248, 790.3683, 764.6771, 737.0558, 707.2785, 675.0823, 640.1602, 602.1506, 560.625, 515.0721, 464.876,
      409.2888, 347.3926, 278.0488, 199.827, 110.9057, 8.9286,
    ],
  },
  40: {
    sigmas: [
      1.0, 0.991331, 0.982356, 0.973058, 0.963421, 0.953424, 0.943048, 0.93227, 0.921067, 0.909412, 0.897279, 0.884637,
      0.871453, 0.857692, 0.843315, 0.82828, 0.81254, 0.796044, 0.778738, 0.760559, 0.74144, 0.721306, 0.700074,
      0.677652, 0.653936, 0.628812, 0.602151, 0.573805, 0.543612, 0.511384, 0.476909, 0.439941, 0.400203, 0.357368,
      0.311062, 0.260845, 0.206198, 0.146509, 0.081046, 0.008929, 0.0,
    ],
  },
};

describe('buildSchedule (contract §2.2, golden values §2.6)', () => {
  for (const [n, golden] of Object.entries(GOLDEN)) {
    it(`N = ${n}: sigmas within 1e-6, timesteps within 1e-4, terminal 0`, () => {
      const s = buildSchedule(Number(n), SD3);
      expect(s.sigmas.length).toBe(Number(n) + 1);
      expect(s.timesteps.length).toBe(Number(n));
      golden.sigmas.forEach((v, i) => expect(Math.abs(s.sigmas[i]! - v)).toBeLessThanOrEqual(1e-6 + 5e-7));
      const timesteps = golden.timesteps ?? golden.sigmas.slice(0, -1).map((v) => v * 1000);
      const tol = golden.timesteps ? 1e-4 : 1e-3; // N=40's timesteps derive from 6-decimal sigmas
      timesteps.forEach((v, i) => expect(Math.abs(s.timesteps[i]! - v)).toBeLessThanOrEqual(tol));
      expect(s.sigmas[Number(n)]).toBe(0);
      for (let i = 0; i < Number(n); i++) expect(s.timesteps[i]).toBe(Math.fround(s.sigmas[i]! * 1000));
    });
  }

  it('sigmas decrease strictly', () => {
    const s = buildSchedule(50, SD3);
    for (let i = 1; i < s.sigmas.length; i++) expect(s.sigmas[i]!).toBeLessThan(s.sigmas[i - 1]!);
  });

  it('a single step goes straight from sigma 1 to 0', () => {
    const s = buildSchedule(1, SD3);
    expect(Array.from(s.sigmas)).toEqual([1, 0]);
  });

  it('rejects a non-positive or fractional step count', () => {
    expect(() => buildSchedule(0, SD3)).toThrow(RangeError);
    expect(() => buildSchedule(2.5, SD3)).toThrow(RangeError);
  });
});

describe('img2img start step (contract §2.5 examples)', () => {
  const cases: [number, number, number, number][] = [
    // N, strength, t_start, start sigma
    [28, 0.6, 11, 0.814325],
    [4, 0.5, 2, 0.602151],
    [4, 0.75, 1, 0.857692],
    [40, 0.6, 16, 0.81254],
  ];
  for (const [n, strength, tStart, sigma] of cases) {
    it(`N=${n}, strength ${strength} → t_start ${tStart}, ${n - tStart} steps, σ ${sigma}`, () => {
      expect(img2imgStartIndex(n, strength)).toBe(tStart);
      const s = withStart(buildSchedule(n, SD3), tStart);
      expect(stepCount(s)).toBe(n - tStart);
      expect(Math.abs(s.sigmas[tStart]! - sigma)).toBeLessThanOrEqual(1e-6 + 5e-7);
    });
  }
  it('strength 1 starts at the first step, strength 0 runs none', () => {
    expect(img2imgStartIndex(28, 1)).toBe(0);
    expect(img2imgStartIndex(28, 0)).toBe(28);
  });
});

describe('eulerStep and scaleNoise', () => {
  it('x + (σ_{i+1} − σ_i)·v', () => {
    const s = buildSchedule(4, SD3);
    const x = Float32Array.from([1, 2, 3]);
    const v = Float32Array.from([0.5, -1, 2]);
    const out = eulerStep(s, 1, x, v);
    const dt = Math.fround(s.sigmas[2]! - s.sigmas[1]!);
    expect(Array.from(out)).toEqual(Array.from(x).map((xi, k) => Math.fround(xi + dt * v[k]!)));
  });
  it('a full run with the exact velocity (noise − x0) lands on x0', () => {
    const s = buildSchedule(8, SD3);
    const x0 = Float32Array.from([0.3, -0.7]);
    const eps = Float32Array.from([1.2, 0.4]);
    let x = scaleNoise(x0, s.sigmas[0]!, eps);
    const v = Float32Array.from([eps[0]! - x0[0]!, eps[1]! - x0[1]!]);
    for (let i = 0; i < 8; i++) x = eulerStep(s, i, x, v);
    expect(x[0]).toBeCloseTo(0.3, 5);
    expect(x[1]).toBeCloseTo(-0.7, 5);
  });
  it('refuses an index past the end', () => {
    const s = buildSchedule(4, SD3);
    expect(() => eulerStep(s, 4, new Float32Array(1), new Float32Array(1))).toThrow(RangeError);
  });
});
