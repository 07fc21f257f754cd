import { describe, expect, it } from 'vitest';
import { Mt19937, TorchCpuGenerator, torchRandn } from '../src/diffusion/torch-randn.js';
import { maxAbsDiff, NO_REFERENCE, readCase, readF32, readNpy, REFERENCE_CASES, REFERENCE_DIR, referencePath } from './reference.js';

describe('MT19937', () => {
  it('matches the reference outputs of std::mt19937 (seed 5489: 3499211612, …; 10000th output 4123659995)', () => {
    const mt = new Mt19937(5489);
    expect([mt.nextUint32(), mt.nextUint32(), mt.nextUint32()]).toEqual([3499211612, 581869302, 3890346734]);
    const again = new Mt19937(5489);
    let last = 0;
    for (let i = 0; i < 10000; i++) last = again.nextUint32();
    expect(last).toBe(4123659995);
  });
});

describe.skipIf(!REFERENCE_DIR)(`torch.randn against diffusers' own draws (${REFERENCE_DIR ? 'reference present' : NO_REFERENCE})`, () => {
  for (const name of REFERENCE_CASES) {
    it(`${name}: every draw of the one generator, in diffusers' order, within 2e-6 (bit-exact expected)`, () => {
      const c = readCase(name);
      const g = new TorchCpuGenerator(c.seed);
      for (const draw of c.randn_draws) {
        const ref = readNpy(referencePath('cases', name, `randn_${draw.order}_${draw.who}.npy`));
        expect(ref.shape).toEqual(draw.shape);
        const ours = g.randn(ref.data.length);
        expect(maxAbsDiff(ours, ref.data)).toBeLessThanOrEqual(2e-6);
        expect(Buffer.from(ours.buffer).equals(Buffer.from(ref.data.buffer))).toBe(true);
      }
    });
  }
  it('noise.bin of the text-to-image case from the seed alone', () => {
    const c = readCase('t2i_cat_g4.5_n8_s42');
    const noise = readF32(referencePath('cases', c.case, 'noise.bin'));
    expect(maxAbsDiff(torchRandn(c.seed, noise.length), noise)).toBeLessThanOrEqual(2e-6);
  });
});

describe('torch.randn edge cases', () => {
  it('a length that is not a multiple of 16 redraws the last window of 16', () => {
    const a = torchRandn(7, 40);
    const g = new TorchCpuGenerator(7);
    const first32 = g.randn(32);
    expect(a.subarray(0, 24)).toEqual(first32.subarray(0, 24));
    expect(a.subarray(24)).not.toEqual(first32.subarray(24, 40));
  });
  it('fewer than 16 values take the double-precision path, and seeds past 2^32 use their low 32 bits', () => {
    const small = torchRandn(3, 5);
    expect(small.every((v) => Number.isFinite(v))).toBe(true);
    expect(torchRandn(2 ** 32 + 3, 64)).toEqual(torchRandn(3, 64));
    expect(() => torchRandn(2 ** 53, 16)).toThrow(RangeError);
  });
  it('has standard-normal moments', () => {
    const v = torchRandn(1234, 1 << 16);
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const varc = v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length;
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(varc - 1)).toBeLessThan(0.02);
  });
});
