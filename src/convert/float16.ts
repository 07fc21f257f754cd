/**
 * IEEE 754 half precision (binary16) ↔ float32 conversion for the converter.
 *
 * float32 → float16 rounds to nearest, ties to even, and SATURATES finite values to ±65504 (a plain IEEE
 * conversion gives ±Infinity from 65520 upward; a weight or constant that large is meant as "very large",
 * e.g. CLIP's −3.4e38 attention mask, and must not turn into an infinity that later makes 0·∞ = NaN).
 * ±Infinity stays ±Infinity and NaN stays NaN (quiet, sign kept). Values below half the smallest subnormal
 * (2^-25) flush to a signed zero.
 */

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** Half bits of the float32 with bit pattern `x` (see the module comment for the rounding rules). */
function halfFromF32Bits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return mant ? sign | 0x7e00 : sign | 0x7c00; // NaN / ±Infinity
  const e = exp - 127;
  if (e > 15) return sign | 0x7bff; // saturate
  if (e >= -14) {
    // normal half: keep 10 mantissa bits, round on the 13 dropped ones
    let h = ((e + 15) << 10) | (mant >>> 13);
    const rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++; // a carry may bump the exponent: still right
    return h >= 0x7c00 ? sign | 0x7bff : sign | h;
  }
  if (e < -25) return sign; // below half the smallest subnormal (also float32 subnormals)
  // half subnormal: value / 2^-24 = mant24 · 2^(e+1), mant24 with the implicit bit
  const mant24 = mant | 0x800000;
  const shift = -e - 1; // 14 … 24
  let h = mant24 >>> shift;
  const rem = mant24 & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rem > half || (rem === half && h & 1)) h++; // may carry into the smallest normal (0x0400): fine
  return sign | h;
}

/** float32 value → float16 bits (round to nearest even, saturating). */
export function float32ToFloat16Bits(value: number): number {
  scratchF32[0] = value;
  return halfFromF32Bits(scratchU32[0]!);
}

/** float16 bits → float32 value (exact). */
export function float16BitsToFloat32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/** Rounds a number to the nearest float16 value (saturating), returned as a number. */
export function roundToFloat16(value: number): number {
  return float16BitsToFloat32(float32ToFloat16Bits(value));
}

/** Converts a float32 array to float16 bits. */
export function float32ArrayToFloat16(src: Float32Array, out: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  if (out.length < src.length) throw new Error(`float32ArrayToFloat16: output too short (${out.length} < ${src.length})`);
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < bits.length; i++) out[i] = halfFromF32Bits(bits[i]!);
  return out;
}

let table: Float32Array | null = null;
/** All 65536 half values as float32 (256 KiB, built on first use). */
function halfTable(): Float32Array {
  if (!table) {
    table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) table[h] = float16BitsToFloat32(h);
  }
  return table;
}

/** Converts float16 bits to float32 values. */
export function float16ArrayToFloat32(src: Uint16Array, out: Float32Array = new Float32Array(src.length)): Float32Array {
  if (out.length < src.length) throw new Error(`float16ArrayToFloat32: output too short (${out.length} < ${src.length})`);
  const t = halfTable();
  for (let i = 0; i < src.length; i++) out[i] = t[src[i]!]!;
  return out;
}

/** A fresh copy of `bytes` in its own ArrayBuffer (node Buffers' `slice` would return a view). */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.byteLength);
  out.set(bytes);
  return out;
}

/** A typed-array view of little-endian bytes; copies when `bytes` is not aligned for the element size. */
function alignedView<T>(bytes: Uint8Array, size: number, make: (buf: ArrayBufferLike, off: number, len: number) => T): T {
  if (bytes.byteLength % size) throw new Error(`byte length ${bytes.byteLength} is not a multiple of ${size}`);
  if (bytes.byteOffset % size === 0) return make(bytes.buffer, bytes.byteOffset, bytes.byteLength / size);
  const copy = copyBytes(bytes);
  return make(copy.buffer, 0, copy.byteLength / size);
}

export const float32View = (bytes: Uint8Array): Float32Array =>
  alignedView(bytes, 4, (b, o, n) => new Float32Array(b, o, n));
export const uint16View = (bytes: Uint8Array): Uint16Array =>
  alignedView(bytes, 2, (b, o, n) => new Uint16Array(b, o, n));

/** Raw bytes of a typed array (a view, no copy). */
export const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
