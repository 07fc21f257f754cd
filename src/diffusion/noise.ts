/**
 * Seeded noise: the documented mapping seed -> standard-normal float32 values.
 *
 * Generator: xoshiro128** (Blackman & Vigna), state seeded from the 32-bit seed with
 * splitmix32 (four successive outputs). Uniforms: u = (next() >>> 8) / 2^24, in [0, 1).
 * Normals: Box–Muller on pairs (u1, u2) with u1 replaced by 1 - u1 (so it is in (0, 1]):
 *   r = sqrt(-2 ln u1), z0 = r cos(2π u2), z1 = r sin(2π u2); both are used, in that order.
 * All arithmetic is float64 and each value is rounded to float32 once at the end, so the same
 * seed gives the same numbers in every JS engine (Math.log/cos/sin are not bit-exact across
 * engines in theory; V8 in Node and Chromium share one implementation).
 *
 * This is the project's own definition; it is not torch.randn, so a seed here does not give
 * the image the same seed gives in diffusers.
 */

export interface Rng {
  /** Next uint32. */
  nextUint32(): number;
  /** Uniform in [0, 1) with 24 bits of precision. */
  nextFloat(): number;
}

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;

/** xoshiro128** seeded through splitmix32. */
export function createRng(seed: number): Rng {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new RangeError(`seed must be an integer in [0, 2^32), got ${seed}`);
  }
  const sm = splitmix32(seed);
  const s = new Uint32Array([sm(), sm(), sm(), sm()]);
  if ((s[0]! | s[1]! | s[2]! | s[3]!) === 0) s[0] = 1; // all-zero state is a fixed point
  const nextUint32 = (): number => {
    const result = Math.imul(rotl(Math.imul(s[1]!, 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1]! << 9) >>> 0;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  };
  return { nextUint32, nextFloat: () => (nextUint32() >>> 8) / 16777216 };
}

/** Fills `out` with standard-normal values from `rng` (Box–Muller, both branches used). */
export function fillStandardNormal(rng: Rng, out: Float32Array): Float32Array {
  for (let i = 0; i < out.length; i += 2) {
    const u1 = 1 - rng.nextFloat();
    const u2 = rng.nextFloat();
    const r = Math.sqrt(-2 * Math.log(u1));
    const theta = 2 * Math.PI * u2;
    out[i] = r * Math.cos(theta);
    if (i + 1 < out.length) out[i + 1] = r * Math.sin(theta);
  }
  return out;
}

/** `count` standard-normal float32 values for `seed`. */
export function standardNormal(seed: number, count: number): Float32Array {
  return fillStandardNormal(createRng(seed), new Float32Array(count));
}
