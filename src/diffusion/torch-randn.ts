/**
 * torch's CPU `randn` (float32), so that a seed gives the noise — and so the image — that diffusers
 * gives with `generator=torch.Generator("cpu").manual_seed(seed)` (ComfyUI's CPU noise and A1111's
 * "RNG: CPU" draw from the same generator).
 *
 * The algorithm is the one documented in `reference/tiny-sd3/torch_randn.py`:
 * 1. MT19937 seeded with the low 32 bits of the seed (`std::mt19937(seed)`, tempered outputs).
 * 2. A float uniform is `(u32 & 0xFFFFFF) · 2^-24`.
 * 3. For ≥ 16 values: all uniforms first, then Box–Muller per chunk of 16 (the first 8 take r·cos θ,
 *    the last 8 r·sin θ, u1 = 1 − d[j], u2 = d[j + 8]); a tail that is not a multiple of 16 draws 16
 *    new uniforms into the last 16 slots and transforms that window.
 * 4. Fewer than 16 values: per element a double-precision normal from two 53-bit uniforms, with the
 *    sin branch cached in the generator for the next element.
 * Step 3 uses the float32 log / sincos of torch's AVX2 kernel (Pommier's avx_mathfun, Cephes
 * polynomials, with GCC's fused multiply-adds): reproduced here with Math.fround and FMA emulated in
 * float64, which the reference measures at 0 ulp from torch.
 */

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER = 0x80000000;
const LOWER = 0x7fffffff;

/** The standard 32-bit Mersenne Twister (identical to numpy's RandomState and std::mt19937). */
export class Mt19937 {
  private readonly mt = new Uint32Array(N);
  private pos = N;

  constructor(seed: number) {
    this.mt[0] = seed >>> 0;
    for (let j = 1; j < N; j++) {
      const prev = this.mt[j - 1]!;
      const x = (prev ^ (prev >>> 30)) >>> 0;
      // 1812433253 · x + j mod 2^32, without losing bits in float64
      this.mt[j] = (Math.imul(1812433253, x) + j) >>> 0;
    }
  }

  private twist(): void {
    const mt = this.mt;
    for (let i = 0; i < N; i++) {
      const y = ((mt[i]! & UPPER) | (mt[(i + 1) % N]! & LOWER)) >>> 0;
      mt[i] = (mt[(i + M) % N]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0)) >>> 0;
    }
    this.pos = 0;
  }

  nextUint32(): number {
    if (this.pos >= N) this.twist();
    let y = this.mt[this.pos++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }
}

const f = Math.fround;
/** float32 fused multiply-add: a·b is exact in float64 for float32 inputs, then one rounding of the sum. */
const fma = (a: number, b: number, c: number): number => f(a * b + c);

const LOG_P = [7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1].map(f);
const C = {
  minNorm: f(1.17549435e-38),
  sqrtHalf: f(0.707106781186547524),
  q1: f(-2.12194440e-4),
  q2: f(0.693359375),
  fourOverPi: f(1.27323954473516),
  dp1: f(-0.78515625),
  dp2: f(-2.4187564849853515625e-4),
  dp3: f(-3.77489497744594108e-8),
  cos0: f(2.443315711809948e-5),
  cos1: f(-1.388731625493765e-3),
  cos2: f(4.166664568298827e-2),
  sin0: f(-1.9515295891e-4),
  sin1: f(8.3321608736e-3),
  sin2: f(-1.6666654611e-1),
  twoPi: f(2 * Math.PI),
};

const scratch = new DataView(new ArrayBuffer(4));
const bitsOf = (x: number): number => {
  scratch.setFloat32(0, x, true);
  return scratch.getUint32(0, true);
};
const floatOf = (bits: number): number => {
  scratch.setUint32(0, bits >>> 0, true);
  return scratch.getFloat32(0, true);
};

/** avx_mathfun `log256_ps` for one float32 x > 0, with GCC's FMA contractions. */
export function logAvx(input: number): number {
  let x = Math.max(f(input), C.minNorm);
  const bits = bitsOf(x);
  let e = f(((bits >>> 23) & 0xff) - 0x7f + 1);
  x = floatOf((bits & 0x807fffff) | 0x3f000000); // mantissa in [0.5, 1)
  const mask = x < C.sqrtHalf;
  const tmp = mask ? x : 0;
  x = f(x - 1);
  if (mask) e = f(e - 1);
  x = f(x + tmp);
  const z = f(x * x);
  let y = LOG_P[0]!;
  for (let k = 1; k < LOG_P.length; k++) y = fma(y, x, LOG_P[k]!);
  y = f(y * x);
  y = fma(y, z, f(e * C.q1));
  y = fma(-z, 0.5, y);
  x = f(x + y);
  return fma(e, C.q2, x);
}

/** avx_mathfun `sincos256_ps` for one float32, with GCC's FMA contractions: [sin, cos]. */
export function sincosAvx(input: number): [number, number] {
  let x = f(input);
  let signSin = x < 0 || Object.is(x, -0);
  x = Math.abs(x);
  let j = Math.trunc(f(x * C.fourOverPi)) | 0;
  j = (j + 1) & ~1;
  const y = f(j);
  const swapSin = (j & 4) !== 0;
  const polyMask = (j & 2) === 0;
  x = fma(y, C.dp1, x);
  x = fma(y, C.dp2, x);
  x = fma(y, C.dp3, x);
  const signCos = (~(j - 2) & 4) !== 0;
  signSin = signSin !== swapSin;
  const z = f(x * x);
  let yc = C.cos0;
  yc = fma(yc, z, C.cos1);
  yc = fma(yc, z, C.cos2);
  yc = f(yc * z);
  yc = fma(yc, z, -f(z * 0.5));
  yc = f(yc + 1);
  let ys = C.sin0;
  ys = fma(ys, z, C.sin1);
  ys = fma(ys, z, C.sin2);
  ys = f(ys * z);
  ys = fma(ys, x, x);
  const s = polyMask ? ys : yc;
  const c = polyMask ? yc : ys;
  return [signSin ? -s : s, signCos ? -c : c];
}

/** torch's AVX2 `normal_fill_16`: 16 uniforms at `d[at…at+15]` become 16 standard normals in place. */
function boxMuller16(d: Float32Array, at: number): void {
  for (let j = 0; j < 8; j++) {
    const u1 = f(1 - d[at + j]!);
    const u2 = d[at + j + 8]!;
    const r = f(Math.sqrt(f(-2 * logAvx(u1))));
    const [s, c] = sincosAvx(f(C.twoPi * u2));
    d[at + j] = f(r * c);
    d[at + j + 8] = f(r * s);
  }
}

/** `torch.Generator("cpu").manual_seed(seed)`, as far as float32 `randn` is concerned. */
export class TorchCpuGenerator {
  private engine: Mt19937;
  /** The cached second value of the double-precision normal (torch keeps it in the generator). */
  private nextDoubleNormal: number | null = null;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be a whole number in [0, 2^53), got ${seed}`);
    // torch seeds its mt19937 with the low 32 bits of the 64-bit seed
    this.engine = new Mt19937(Number(BigInt(seed) & 0xffffffffn));
  }

  private uniformsInto(d: Float32Array, from: number, to: number): void {
    for (let i = from; i < to; i++) d[i] = (this.engine.nextUint32() & 0xffffff) * 2 ** -24;
  }

  private uniform53(): number {
    const a = this.engine.nextUint32();
    const b = this.engine.nextUint32();
    // ((a << 32) | b) & (2^53 − 1), times 2^-53
    return ((a & 0x1fffff) * 2 ** 32 + b) * 2 ** -53;
  }

  /** The next `count` values of `torch.randn(shape)` for a tensor of `count` elements (memory order). */
  randn(count: number): Float32Array {
    const d = new Float32Array(count);
    if (count < 16) {
      for (let i = 0; i < count; i++) {
        if (this.nextDoubleNormal !== null) {
          d[i] = this.nextDoubleNormal;
          this.nextDoubleNormal = null;
          continue;
        }
        const u1 = this.uniform53();
        const u2 = this.uniform53();
        const r = Math.sqrt(-2 * Math.log1p(-u2));
        const theta = 2 * Math.PI * u1;
        this.nextDoubleNormal = r * Math.sin(theta);
        d[i] = r * Math.cos(theta);
      }
      return d;
    }
    this.uniformsInto(d, 0, count);
    const full = count - (count % 16);
    for (let i = 0; i < full; i += 16) boxMuller16(d, i);
    if (count % 16) {
      this.uniformsInto(d, count - 16, count);
      boxMuller16(d, count - 16);
    }
    return d;
  }
}

/** `count` values of `torch.randn` from a fresh `torch.Generator("cpu").manual_seed(seed)`. */
export function torchRandn(seed: number, count: number): Float32Array {
  return new TorchCpuGenerator(seed).randn(count);
}
