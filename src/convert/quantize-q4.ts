/**
 * 4-bit symmetric block-wise quantization in the layout of onnxruntime's com.microsoft MatMulNBits
 * (bits = 4, no zero_points input → zero point 8 for every block).
 *
 * For a weight W [K, N] (MatMul's second input, y = x·W), each column n is cut along K into
 * kBlocks = ceil(K / blockSize) blocks. Per block, as onnxruntime's blockwise quantizer does it
 * (MLAS `range2scale` + `quantizeAndTranspose`, symmetric case):
 *   vmax  = the block value with the largest magnitude, keeping its sign (|max| > |min| ? max : min),
 *   scale = vmax / −8,
 *   q     = clamp(roundf(v · (1 / scale) + 8), 0, 15)   (1/scale taken as 0 when scale = 0),
 * all in float32 arithmetic. Dequantized value: (q − 8) · scale. The element at vmax maps to q = 0
 * exactly; the opposite extreme clamps at 15 (= +7 steps).
 * Packing: B[n][b][j] holds block elements 2j (low nibble) and 2j + 1 (high nibble); B has shape
 * [N, kBlocks, blockSize / 2] and scales [N · kBlocks] (index n · kBlocks + b).
 * When K is not a multiple of blockSize the last block is padded with zeros (q = 8), as onnxruntime does.
 */

export type WeightLayout = 'KN' | 'NK';

export interface Q4Result {
  /** uint8 [N, kBlocks, blockSize / 2] */
  packed: Uint8Array;
  /** float32 [N · kBlocks] */
  scales: Float32Array;
}

function checkArgs(K: number, N: number, blockSize: number): void {
  if (!Number.isInteger(K) || !Number.isInteger(N) || K < 1 || N < 1) throw new Error(`quantizeQ4: bad shape K=${K}, N=${N}`);
  if (!Number.isInteger(blockSize) || blockSize < 16 || blockSize & (blockSize - 1)) {
    throw new Error(`quantizeQ4: block size must be a power of two ≥ 16, got ${blockSize}`);
  }
}

export const q4BlockCount = (K: number, blockSize: number): number => Math.ceil(K / blockSize);

/**
 * Quantizes W, given as [K, N] row-major (`layout` 'KN', MatMul's own layout) or [N, K] ('NK', a torch
 * Linear weight / Gemm transB = 1), into MatMulNBits' B and scales.
 */
export function quantizeQ4(weight: Float32Array, K: number, N: number, blockSize = 32, layout: WeightLayout = 'KN'): Q4Result {
  checkArgs(K, N, blockSize);
  if (weight.length !== K * N) throw new Error(`quantizeQ4: ${weight.length} values for K=${K}, N=${N}`);
  const kBlocks = q4BlockCount(K, blockSize);
  const blob = blockSize / 2;
  const packed = new Uint8Array(N * kBlocks * blob);
  const scales = new Float32Array(N * kBlocks);
  const column = new Float32Array(kBlocks * blockSize); // one column of W, zero padded
  const fr = Math.fround;
  for (let n = 0; n < N; n++) {
    column.fill(0);
    if (layout === 'KN') for (let k = 0; k < K; k++) column[k] = weight[k * N + n]!;
    else column.set(weight.subarray(n * K, n * K + K));
    for (let b = 0; b < kBlocks; b++) {
      const start = b * blockSize;
      let min = Infinity;
      let max = -Infinity;
      for (let i = 0; i < blockSize; i++) {
        const v = column[start + i]!;
        if (v < min) min = v;
        if (v > max) max = v;
      }
      const vmax = Math.abs(max) > Math.abs(min) ? max : min;
      const scale = fr(vmax / -8);
      const recip = scale !== 0 ? fr(1 / scale) : 0;
      scales[n * kBlocks + b] = scale;
      const out = (n * kBlocks + b) * blob;
      for (let j = 0; j < blob; j++) {
        const q0 = quant(column[start + 2 * j]!, recip);
        const q1 = quant(column[start + 2 * j + 1]!, recip);
        packed[out + j] = q0 | (q1 << 4);
      }
    }
  }
  return { packed, scales };
}

/** clamp(roundf(v·recip + 8), 0, 15) in float32 arithmetic (roundf: halves away from zero). */
function quant(v: number, recip: number): number {
  const x = Math.fround(Math.fround(v * recip) + 8);
  const r = x < 0 ? -Math.round(-x) : Math.round(x); // Math.round rounds .5 up; mirror it for negatives
  return r < 0 ? 0 : r > 15 ? 15 : r;
}

/** W [K, N] (row-major) from MatMulNBits' B and scales (zero point 8). */
export function dequantizeQ4(packed: Uint8Array, scales: ArrayLike<number>, K: number, N: number, blockSize = 32): Float32Array {
  checkArgs(K, N, blockSize);
  const kBlocks = q4BlockCount(K, blockSize);
  const blob = blockSize / 2;
  if (packed.length !== N * kBlocks * blob) throw new Error(`dequantizeQ4: B has ${packed.length} bytes, expected ${N * kBlocks * blob}`);
  if (scales.length !== N * kBlocks) throw new Error(`dequantizeQ4: ${scales.length} scales, expected ${N * kBlocks}`);
  const out = new Float32Array(K * N);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      const b = Math.floor(k / blockSize);
      const i = k - b * blockSize;
      const byte = packed[(n * kBlocks + b) * blob + (i >> 1)]!;
      const q = i & 1 ? byte >> 4 : byte & 0x0f;
      out[k * N + n] = Math.fround((q - 8) * scales[n * kBlocks + b]!);
    }
  }
  return out;
}
