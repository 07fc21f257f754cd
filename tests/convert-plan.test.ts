/**
 * The converter's graph planner and numerics: float16 conversion, 4-bit block quantization in the
 * MatMulNBits layout, and planConversion + materialize end to end on the tiny SD3 fixture, each planned
 * model run in onnxruntime-node against its source.
 */
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { DEFAULT_FIXTURE } from '../src/fixtures/fixture-config.js';
import { buildFixtureFiles } from '../src/fixtures/write-fixture.js';
import { DType, GraphBuilder } from '../src/onnx/graph-builder.js';
import {
  float16BitsToFloat32,
  float32ArrayToFloat16,
  float32ToFloat16Bits,
  float16ArrayToFloat32,
  roundToFloat16,
} from '../src/convert/float16.js';
import { dequantizeQ4, quantizeQ4 } from '../src/convert/quantize-q4.js';
import { inlineTensorBytes, materialize, MAX_SPLIT_OUTPUTS, planConversion, PlanError } from '../src/convert/plan.js';
import type { ConversionPlan, ModelProto, PlanOptions, SourceTensorInfo } from '../src/convert/plan-types.js';
import type { Variant } from '../src/protocol.js';

const { onnx } = onnxProto;

// ---- helpers --------------------------------------------------------------------------------------

interface Source {
  model: ModelProto;
  tensors: Map<string, SourceTensorInfo>;
  read: (name: string) => Promise<Uint8Array>;
}

const toNum = (v: unknown): number => (typeof v === 'number' ? v : (v as { toNumber(): number }).toNumber());

/** A decoded source model with reads served from its external-data bytes (or inline data). */
function openSource(modelBytes: Uint8Array, externalData: Uint8Array): Source {
  const model = onnx.ModelProto.decode(modelBytes);
  const tensors = new Map<string, SourceTensorInfo>();
  const protos = new Map<string, onnxProto.onnx.ITensorProto>();
  for (const t of model.graph!.initializer ?? []) {
    tensors.set(t.name!, { name: t.name!, dims: (t.dims ?? []).map(toNum), dataType: t.dataType! });
    protos.set(t.name!, t);
  }
  const read = async (name: string): Promise<Uint8Array> => {
    const t = protos.get(name);
    if (!t) throw new Error(`no tensor ${name}`);
    if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
      const kv = new Map((t.externalData ?? []).map((e) => [e.key, e.value]));
      const offset = Number(kv.get('offset') ?? 0);
      const length = Number(kv.get('length'));
      return externalData.slice(offset, offset + length);
    }
    const bytes = inlineTensorBytes(t);
    if (!bytes) throw new Error(`cannot read ${name}`);
    return bytes;
  };
  return { model, tensors, read };
}

/** The source model with every initializer inline (runnable from one buffer). */
async function inlineSource(src: Source): Promise<Uint8Array> {
  const initializer = await Promise.all(
    (src.model.graph!.initializer ?? []).map(async (t) => ({ name: t.name, dims: t.dims, dataType: t.dataType, rawData: await src.read(t.name!) })),
  );
  return onnx.ModelProto.encode({ ...src.model, graph: { ...src.model.graph!, initializer } }).finish();
}

/** The planned model with every planned initializer materialized inline. */
async function assemble(plan: ConversionPlan, src: Source): Promise<Uint8Array> {
  const initializer = [];
  for (const p of plan.initializers) {
    initializer.push({ name: p.name, dims: p.dims, dataType: p.dataType, rawData: await materialize(p.recipe, src.read, src.tensors) });
  }
  return onnx.ModelProto.encode({ ...plan.model, graph: { ...plan.model.graph!, initializer } }).finish();
}

type Feeds = Record<string, ort.Tensor>;

async function run(modelBytes: Uint8Array, feeds: Feeds): Promise<Record<string, Float32Array>> {
  const session = await ort.InferenceSession.create(modelBytes, { graphOptimizationLevel: 'disabled' });
  try {
    const out = await session.run(feeds);
    const result: Record<string, Float32Array> = {};
    for (const [k, v] of Object.entries(out)) result[k] = v.data as Float32Array;
    return result;
  } finally {
    await session.release();
  }
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 && nb === 0 ? 1 : dot / Math.sqrt(na * nb);
}

/** max |a − b| / max |a| (relative to the output's range). */
function relMaxErr(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(a[i]!));
  }
  return diff / (scale || 1);
}

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}
function normal(n: number, seed: number, std = 1): Float32Array {
  const r = seeded(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = 1 - r();
    out[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r()) * std;
  }
  return out;
}

// ---- float16 --------------------------------------------------------------------------------------

describe('float16', () => {
  it('converts exactly representable values and special values', () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [0.5, 0x3800],
      [65504, 0x7bff],
      [2 ** -14, 0x0400], // smallest normal
      [2 ** -24, 0x0001], // smallest subnormal
      [Infinity, 0x7c00],
      [-Infinity, 0xfc00],
    ];
    for (const [v, bits] of cases) {
      expect(float32ToFloat16Bits(v)).toBe(bits);
      expect(Object.is(float16BitsToFloat32(bits), v)).toBe(true);
    }
    expect(float32ToFloat16Bits(NaN) & 0x7c00).toBe(0x7c00);
    expect(float32ToFloat16Bits(NaN) & 0x3ff).not.toBe(0);
    expect(float16BitsToFloat32(0x7e00)).toBeNaN();
  });

  it('rounds to nearest, ties to even', () => {
    // spacing of halves in [1, 2) is 2^-10
    const ulp = 2 ** -10;
    expect(float32ToFloat16Bits(1 + ulp / 2)).toBe(0x3c00); // tie → even (down)
    expect(float32ToFloat16Bits(1 + (3 * ulp) / 2)).toBe(0x3c02); // tie → even (up)
    expect(float32ToFloat16Bits(1 + ulp / 2 + 2 ** -20)).toBe(0x3c01); // above the tie
    expect(float32ToFloat16Bits(2048 + 1)).toBe(0x6800); // spacing 2 at 2048: tie → even
    expect(float32ToFloat16Bits(2048 + 3)).toBe(0x6802);
    // subnormals: 2^-25 is a tie between 0 and the smallest subnormal → 0; a bit above → 1
    expect(float32ToFloat16Bits(2 ** -25)).toBe(0);
    expect(float32ToFloat16Bits(2 ** -25 * 1.01)).toBe(1);
    expect(float32ToFloat16Bits(3 * 2 ** -25)).toBe(2); // 1.5 units → even (2)
    // rounding up across the subnormal/normal border and across a binade
    expect(float32ToFloat16Bits(2 ** -14 - 2 ** -26)).toBe(0x0400);
    expect(float32ToFloat16Bits(2 - 2 ** -12)).toBe(0x4000);
    expect(float32ToFloat16Bits(1e-10)).toBe(0);
    expect(roundToFloat16(0.1)).toBeCloseTo(0.0999755859375, 12);
  });

  it('saturates finite values to ±65504', () => {
    expect(float32ToFloat16Bits(65519)).toBe(0x7bff);
    expect(float32ToFloat16Bits(65520)).toBe(0x7bff); // IEEE would give +Infinity
    expect(float32ToFloat16Bits(1e6)).toBe(0x7bff);
    expect(float32ToFloat16Bits(-3.4028234663852886e38)).toBe(0xfbff);
  });

  it('round-trips every half value and converts arrays', () => {
    const all = new Uint16Array(65536);
    for (let h = 0; h < 65536; h++) all[h] = h;
    const f = float16ArrayToFloat32(all);
    const back = float32ArrayToFloat16(f);
    for (let h = 0; h < 65536; h++) {
      const isNaN = (h & 0x7c00) === 0x7c00 && h & 0x3ff;
      if (isNaN) expect(back[h]! & 0x7fff).toBeGreaterThan(0x7c00);
      else expect(back[h]).toBe(h);
    }
    // random values: error ≤ half an ulp
    const x = normal(10000, 7, 100);
    const y = float16ArrayToFloat32(float32ArrayToFloat16(x));
    for (let i = 0; i < x.length; i++) {
      const ulp = 2 ** (Math.floor(Math.log2(Math.abs(x[i]!))) - 10);
      expect(Math.abs(y[i]! - x[i]!)).toBeLessThanOrEqual(ulp / 2 + 1e-12);
    }
  });
});

// ---- q4 -------------------------------------------------------------------------------------------

describe('quantizeQ4 / dequantizeQ4', () => {
  it('packs a hand-computed block (low nibble first) with scale = vmax / −8', () => {
    // K = 32, N = 1: one block. Values 0..15 steps of a positive vmax = 8 → scale = −1, q = 8 − v
    const w = new Float32Array(32);
    for (let k = 0; k < 32; k++) w[k] = k < 16 ? k - 7 : 0; // −7 … 8, then zeros
    const { packed, scales } = quantizeQ4(w, 32, 1, 32, 'KN');
    expect(Array.from(scales)).toEqual([-1]);
    // q = round(v · (1/−1) + 8) = 8 − v: v = −7 → 15, −6 → 14, … 8 → 0; zeros → 8
    // byte j = q[2j] | q[2j+1] << 4
    expect(Array.from(packed)).toEqual([0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88]);
    const back = dequantizeQ4(packed, scales, 32, 1, 32);
    expect(Array.from(back, (v) => v + 0)).toEqual(Array.from(w));
  });

  it('takes the signed value of largest magnitude: negative vmax gives a positive scale', () => {
    const w = new Float32Array(32).fill(0);
    w[0] = -4;
    w[1] = 3;
    w[2] = 1;
    const neg = quantizeQ4(w, 32, 1);
    expect(neg.scales[0]).toBe(0.5); // −4 / −8
    // q = round(v / 0.5 + 8): −4 → 0, 3 → 14, 1 → 10
    expect(neg.packed[0]).toBe(0x0 | (14 << 4));
    expect(neg.packed[1]! & 0xf).toBe(10);
    w[0] = 4; // now positive extreme
    const pos = quantizeQ4(w, 32, 1);
    expect(pos.scales[0]).toBe(-0.5);
    // q = round(v / −0.5 + 8): 4 → 0, 3 → 2, 1 → 6
    expect(pos.packed[0]).toBe(0x0 | (2 << 4));
    expect(pos.packed[1]! & 0xf).toBe(6);
    // the extreme is exact, the opposite extreme clamps at +7 steps; a tie |max| = |min| picks the negative one
    const w2 = new Float32Array(32);
    w2[0] = 8;
    w2[1] = -8;
    const ext = quantizeQ4(w2, 32, 1);
    expect(ext.scales[0]).toBe(1);
    const d = dequantizeQ4(ext.packed, ext.scales, 32, 1);
    expect(d[0]).toBe(7);
    expect(d[1]).toBe(-8);
    w2[1] = -6;
    const ext2 = quantizeQ4(w2, 32, 1);
    const d2 = dequantizeQ4(ext2.packed, ext2.scales, 32, 1);
    expect([d2[0], d2[1]]).toEqual([8, -6]);
  });

  it('all-zero blocks give scale 0 and zeros, no NaN; huge values stay finite', () => {
    const w = new Float32Array(64 * 3);
    w[40 * 3 + 2] = 3.0e38; // column 2, second block: near ±max float
    w[41 * 3 + 2] = -2.0e38;
    const { packed, scales } = quantizeQ4(w, 64, 3);
    expect(scales[0]).toBe(-0); // 0 / −8
    expect(scales[1]).toBe(-0);
    expect(Array.from(packed.subarray(0, 32))).toEqual(new Array(32).fill(0x88));
    const d = dequantizeQ4(packed, scales, 64, 3);
    expect(d.every((v) => Number.isFinite(v))).toBe(true);
    expect(d[40 * 3 + 2]).toBeCloseTo(3.0e38, -33);
    expect(d[41 * 3 + 2]! / 3.0e38).toBeCloseTo(-5 / 8, 6); // −2e38 / 3.75e37 = −5.33 → −5 steps
  });

  it('handles K not a multiple of the block size (zero padding) and both layouts', () => {
    const K = 45;
    const N = 5;
    const w = normal(K * N, 3);
    const kn = quantizeQ4(w, K, N, 32, 'KN');
    expect(kn.packed.length).toBe(N * 2 * 16);
    expect(kn.scales.length).toBe(N * 2);
    // the padding (k = 45 … 63) is q = 8
    for (let n = 0; n < N; n++) {
      const blob = kn.packed.subarray((n * 2 + 1) * 16, (n * 2 + 2) * 16);
      for (let i = 13; i < 32; i++) expect((blob[i >> 1]! >> ((i & 1) * 4)) & 0xf).toBe(8);
    }
    const nk = new Float32Array(K * N);
    for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) nk[n * K + k] = w[k * N + n]!;
    const t = quantizeQ4(nk, K, N, 32, 'NK');
    expect(t.packed).toEqual(kn.packed);
    expect(t.scales).toEqual(kn.scales);
    const d = dequantizeQ4(kn.packed, kn.scales, K, N);
    for (let i = 0; i < d.length; i++) {
      const n = i % N;
      const b = Math.floor(Math.floor(i / N) / 32);
      expect(Math.abs(d[i]! - w[i]!)).toBeLessThanOrEqual(Math.abs(kn.scales[n * 2 + b]!) / 2 + 1e-6);
    }
  });

  it('a MatMulNBits node in onnxruntime-node equals A × dequantize(B)', async () => {
    const M = 3;
    const K = 72; // three blocks, the last one padded
    const N = 20;
    const W = normal(K * N, 11, 0.2);
    const { packed, scales } = quantizeQ4(W, K, N, 32);
    const kBlocks = 3;
    const model = onnx.ModelProto.encode({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 18 }, { domain: 'com.microsoft', version: 1 }],
      graph: {
        name: 'mmnb',
        node: [
          {
            opType: 'MatMulNBits',
            domain: 'com.microsoft',
            input: ['A', 'B', 'scales'],
            output: ['Y'],
            attribute: [
              { name: 'K', type: 2, i: K },
              { name: 'N', type: 2, i: N },
              { name: 'bits', type: 2, i: 4 },
              { name: 'block_size', type: 2, i: 32 },
            ],
          },
        ],
        input: [{ name: 'A', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: M }, { dimValue: K }] } } } }],
        output: [{ name: 'Y', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: M }, { dimValue: N }] } } } }],
        initializer: [
          { name: 'B', dims: [N, kBlocks, 16], dataType: 2, rawData: packed },
          { name: 'scales', dims: [N * kBlocks], dataType: 1, rawData: new Uint8Array(scales.buffer) },
        ],
      },
    }).finish();
    const a = normal(M * K, 12);
    const out = await run(model, { A: new ort.Tensor('float32', a, [M, K]) });
    const dq = dequantizeQ4(packed, scales, K, N);
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += a[m * K + k]! * dq[k * N + n]!;
        expect(Math.abs(out.Y![m * N + n]! - s)).toBeLessThan(1e-4);
      }
    }
  });
});

// ---- planner on small hand-built graphs ---------------------------------------------------------------

function sourceOf(g: GraphBuilder, opset = 18): Source {
  const s = g.serialize({ externalDataFile: 'model.onnx_data', opset, sizeThreshold: 64 });
  return openSource(s.model, s.externalData);
}

describe('planConversion structure passes', () => {
  it('rewrites Gemm with a constant B into MatMul (+ Add) and keeps the numbers', async () => {
    const g = new GraphBuilder('gemm', 5);
    const x = g.input('x', DType.FLOAT, [4, 48]);
    const w1 = g.weight('w1', [48, 32], { std: 0.2 });
    const c1 = g.weight('c1', [32], { std: 0.1 });
    const y1 = g.op('Gemm', [x, w1, c1]);
    const w2 = g.weight('w2', [64, 32], { std: 0.2 }); // [N, K], transB = 1
    const y2 = g.op('Gemm', [y1, w2], { transB: 1 });
    const w3 = g.weight('w3', [64, 16], { std: 0.2 });
    const y3 = g.op('Gemm', [y2, w3], { alpha: 0.5 }); // left alone
    g.output('y', y3, DType.FLOAT, [4, 16]);
    const src = sourceOf(g);
    const feeds = { x: new ort.Tensor('float32', normal(4 * 48, 1), [4, 48]) };
    const ref = await run(await inlineSource(src), feeds);

    const plan = planConversion(src.model, src.tensors, { variant: 'fp32' });
    expect(plan.report.gemmToMatMul).toBe(2);
    const ops = plan.model.graph!.node!.map((n) => n.opType);
    expect(ops.filter((o) => o === 'Gemm')).toHaveLength(1);
    expect(ops.filter((o) => o === 'MatMul')).toHaveLength(2);
    expect(plan.initializers.find((p) => p.name === w2)?.recipe).toEqual({ kind: 'transpose-2d', source: w2, dtype: 'float32' });
    const out = await run(await assemble(plan, src), feeds);
    expect(relMaxErr(ref.y!, out.y!)).toBeLessThan(1e-6);

    const q4 = planConversion(src.model, src.tensors, { variant: 'q4' });
    expect(q4.report.matMulQuantized).toBe(2);
    expect(q4.initializers.find((p) => p.name === `${w2}_Q4`)?.recipe).toMatchObject({ kind: 'q4-weight', transposed: true, K: 32, N: 64 });
    const outQ = await run(await assemble(q4, src), feeds);
    expect(cosine(ref.y!, outQ.y!)).toBeGreaterThan(0.99);
  });

  async function groupNormCase(opset: number, perChannelScale: boolean): Promise<void> {
    const C = 8;
    const G = 4;
    const g = new GraphBuilder('gn', 9);
    const x = g.input('x', DType.FLOAT, ['n', C, 5, 3]);
    const sc = perChannelScale ? C : G;
    const scale = g.weight('gn.weight', [sc], normal(sc, 3, 0.3).map((v) => v + 1));
    const bias = g.weight('gn.bias', [sc], normal(sc, 4, 0.2));
    const y = g.op('GroupNormalization', [x, scale, bias], { num_groups: G, epsilon: 1e-5 });
    g.output('y', y, DType.FLOAT, ['n', C, 5, 3]);
    const src = sourceOf(g, opset);
    const xs = normal(2 * C * 15, 8, 3).map((v, i) => v + (i % 7)); // non-zero means
    const feeds = { x: new ort.Tensor('float32', xs, [2, C, 5, 3]) };
    const ref = await run(await inlineSource(src), feeds); // ORT's own GroupNormalization (CPU)
    const plan = planConversion(src.model, src.tensors, { variant: 'fp32' });
    expect(plan.report.groupNormRewritten).toBe(1);
    const ops = plan.model.graph!.node!.map((n) => n.opType);
    expect(ops).not.toContain('GroupNormalization');
    expect(ops).toContain('InstanceNormalization');
    const out = await run(await assemble(plan, src), feeds);
    expect(relMaxErr(ref.y!, out.y!)).toBeLessThan(1e-5);
  }
  it('rewrites GroupNormalization-21 (per-channel scale) and matches ORT', () => groupNormCase(21, true));
  it('rewrites GroupNormalization-18 (per-group scale) and matches ORT', () => groupNormCase(18, false));

  it('rewrites com.microsoft GroupNorm (NHWC, SiLU) into supported ops', async () => {
    const C = 6;
    const G = 3;
    const g = new GraphBuilder('msgn', 2);
    const x = g.input('x', DType.FLOAT, [1, 4, 4, C]);
    const gamma = g.weight('g', [C], normal(C, 1, 0.3).map((v) => v + 1));
    const beta = g.weight('b', [C], normal(C, 2, 0.3));
    const y = g.op('GroupNorm', [x, gamma, beta], { groups: G, epsilon: 1e-5, activation: 1 }, 'com.microsoft');
    g.output('y', y, DType.FLOAT, [1, 4, 4, C]);
    const src = sourceOf(g);
    const xs = normal(16 * C, 5, 2);
    const plan = planConversion(src.model, src.tensors, { variant: 'fp32' });
    expect(plan.model.graph!.node!.some((n) => n.domain === 'com.microsoft')).toBe(false);
    expect(plan.model.opsetImport!.some((o) => o.domain === 'com.microsoft')).toBe(false);
    const out = await run(await assemble(plan, src), { x: new ort.Tensor('float32', xs, [1, 4, 4, C]) });
    // reference in JS: NHWC, groups of C/G consecutive channels
    const gv = normal(C, 1, 0.3).map((v) => v + 1);
    const bv = normal(C, 2, 0.3);
    const per = C / G;
    for (let grp = 0; grp < G; grp++) {
      let s = 0;
      let s2 = 0;
      for (let p = 0; p < 16; p++) for (let c = grp * per; c < (grp + 1) * per; c++) s += xs[p * C + c]!;
      const mean = s / (16 * per);
      for (let p = 0; p < 16; p++) for (let c = grp * per; c < (grp + 1) * per; c++) s2 += (xs[p * C + c]! - mean) ** 2;
      const inv = 1 / Math.sqrt(s2 / (16 * per) + 1e-5);
      for (let p = 0; p < 16; p++) {
        for (let c = grp * per; c < (grp + 1) * per; c++) {
          const v = (xs[p * C + c]! - mean) * inv * gv[c]! + bv[c]!;
          expect(out.y![p * C + c]!).toBeCloseTo(v / (1 + Math.exp(-v)), 4);
        }
      }
    }
  });

  it('refuses a pos-embed crop it does not recognise, naming the table', () => {
    const g = new GraphBuilder('pe', 1);
    const x = g.input('x', DType.FLOAT, [1, 16, 8]);
    const table = g.weight('pos_embed.pos_embed', [1, 64, 8], { std: 1 });
    g.output('y', g.op('Add', [x, g.op('Slice', [table, g.int64([0]), g.int64([16]), g.int64([1])])]), DType.FLOAT, [1, 16, 8]);
    const src = sourceOf(g);
    expect(() => planConversion(src.model, src.tensors, { variant: 'fp32', cropPosEmbedTo: 4 })).toThrow(PlanError);
    expect(() => planConversion(src.model, src.tensors, { variant: 'fp32', cropPosEmbedTo: 4 })).toThrow(/pos_embed\.pos_embed/);
  });
});

// ---- end to end on the fixture --------------------------------------------------------------------

const fixtureFiles = buildFixtureFiles(DEFAULT_FIXTURE); // the same bytes `npm run fixtures` writes
function fixture(component: string): Source {
  const model = fixtureFiles.get(`${component}/model.onnx`);
  const data = fixtureFiles.get(`${component}/model.onnx_data`);
  if (!model || !data) throw new Error(`fixture has no ${component}`);
  return openSource(model, data);
}

function idsFeed(src: Source, batch: number, seq: number, seed: number): Feeds {
  const gather = src.model.graph!.node!.find((n) => n.opType === 'Gather' && n.input?.[1] === 'input_ids');
  const vocab = src.tensors.get(gather!.input![0]!)!.dims[0]!;
  const r = seeded(seed);
  const ids = BigInt64Array.from({ length: batch * seq }, () => BigInt(Math.floor(r() * vocab)));
  return { input_ids: new ort.Tensor('int64', ids, [batch, seq]) };
}

function transformerFeeds(): Feeds {
  const t = DEFAULT_FIXTURE.transformer;
  const B = 2;
  const h = 16;
  const S = 12;
  return {
    hidden_states: new ort.Tensor('float32', normal(B * t.inChannels * h * h, 21), [B, t.inChannels, h, h]),
    encoder_hidden_states: new ort.Tensor('float32', normal(B * S * t.jointAttentionDim, 22), [B, S, t.jointAttentionDim]),
    pooled_projections: new ort.Tensor('float32', normal(B * t.pooledProjectionDim, 23), [B, t.pooledProjectionDim]),
    timestep: new ort.Tensor('float32', Float32Array.from([800, 250]), [B]),
  };
}

interface Figures {
  cos: number;
  rel: number;
}
async function compare(src: Source, feeds: Feeds, options: PlanOptions): Promise<{ plan: ConversionPlan; figures: Figures }> {
  const ref = await run(await inlineSource(src), feeds);
  const plan = planConversion(src.model, src.tensors, options);
  const out = await run(await assemble(plan, src), feeds);
  let cos = 1;
  let rel = 0;
  for (const [k, v] of Object.entries(ref)) {
    const o = out[k];
    expect(o, `output ${k}`).toBeDefined();
    expect(o!.every((x) => Number.isFinite(x)), `output ${k} finite`).toBe(true);
    cos = Math.min(cos, cosine(v, o!));
    rel = Math.max(rel, relMaxErr(v, o!));
  }
  return { plan, figures: { cos, rel } };
}

const figures: string[] = [];
const note = (component: string, variant: Variant | string, f: Figures): void =>
  void figures.push(`${component} ${variant}: min cosine ${f.cos.toFixed(6)}, max |Δ|/max|ref| ${f.rel.toExponential(2)}`);

describe('planConversion + materialize on the tiny SD3 fixture (onnxruntime-node)', () => {
  it('transformer: fp32 exact, q4 / q4f16 cosine ≥ 0.99, fp16 within 2e-2 of the range', async () => {
    const src = fixture('transformer');
    const feeds = transformerFeeds();
    const fp32 = await compare(src, feeds, { variant: 'fp32' });
    note('transformer', 'fp32', fp32.figures);
    expect(fp32.figures.rel).toBeLessThan(1e-6);
    // Weights are copied as they are; the only new tensors are the int64 sizes of the rewritten 9-way Split.
    expect(fp32.plan.initializers.every((p) => p.recipe.kind === 'to-fp32' || p.recipe.kind === 'copy' || (p.recipe.kind === 'literal' && p.dataType === 7))).toBe(true);

    const q4 = await compare(src, feeds, { variant: 'q4' });
    note('transformer', 'q4', q4.figures);
    expect(q4.figures.cos).toBeGreaterThanOrEqual(0.99);
    expect(q4.plan.report.matMulQuantized).toBe(44); // all 50 but the embedders and proj_out (AdaLN included)
    expect(q4.plan.report.matMulSkipped.map((s) => s.reason).every((r) => r.includes('q4KeepFloat'))).toBe(true);
    const all = await compare(src, feeds, { variant: 'q4', q4KeepFloat: [] });
    note('transformer', 'q4 (every MatMul quantized)', all.figures);
    expect(all.plan.report.matMulQuantized).toBe(50);
    expect(all.figures.cos).toBeGreaterThanOrEqual(0.98);
    const constMatMuls = all.plan.model.graph!.node!.filter((n) => n.opType === 'MatMul' && all.plan.initializers.some((p) => p.name === n.input?.[1]));
    expect(constMatMuls).toHaveLength(0);
    expect(q4.plan.model.opsetImport).toContainEqual({ domain: 'com.microsoft', version: 1 });

    const q4f16 = await compare(src, feeds, { variant: 'q4f16' });
    note('transformer', 'q4f16', q4f16.figures);
    expect(q4f16.figures.cos).toBeGreaterThanOrEqual(0.99);
    expect(q4f16.plan.initializers.filter((p) => p.recipe.kind === 'q4-scales').every((p) => p.dataType === 10)).toBe(true);
    expect(q4f16.plan.report.keptFp32Nodes).toBeGreaterThan(0); // qk rms-norm statistics

    const fp16 = await compare(src, feeds, { variant: 'fp16' });
    note('transformer', 'fp16', fp16.figures);
    expect(fp16.figures.cos).toBeGreaterThanOrEqual(0.9999);
    expect(fp16.figures.rel).toBeLessThan(2e-2);
    const inputs = fp16.plan.model.graph!.input!.map((i) => i.type?.tensorType?.elemType);
    expect(inputs).toEqual([1, 1, 1, 1]);
    expect(fp16.plan.model.graph!.output![0]!.type?.tensorType?.elemType).toBe(1);
  });

  it('transformer: cropping the position table keeps the output bit-for-bit (fp32) and shrinks it', async () => {
    const src = fixture('transformer');
    const feeds = transformerFeeds(); // 16×16 latents → 8×8 grid ≤ 16
    const { plan, figures: f } = await compare(src, feeds, { variant: 'fp32', cropPosEmbedTo: 16 });
    expect(plan.report.posEmbedCropped).toBe(true);
    const table = plan.initializers.find((p) => p.recipe.kind === 'crop-pos-embed');
    expect(table?.dims).toEqual([16, 16, DEFAULT_FIXTURE.transformer.heads * DEFAULT_FIXTURE.transformer.headDim]);
    expect(f.rel).toBeLessThan(1e-6);
    note('transformer', 'fp32 crop 16', f);
    expect(() => planConversion(src.model, src.tensors, { variant: 'fp32', cropPosEmbedTo: 15 })).toThrow(/even/);
  });

  it('transformer: the 9-way AdaLN-Zero-X Split becomes Splits of ≤ 7 outputs (WebGPU buffer limit), same numbers', async () => {
    const src = fixture('transformer');
    const wide = (m: ModelProto) => (m.graph?.node ?? []).filter((n) => n.opType === 'Split' && (n.output?.length ?? 0) > MAX_SPLIT_OUTPUTS);
    expect(wide(src.model).length).toBeGreaterThan(0); // the fixture has SD3.5's 9-way chunk
    for (const variant of ['fp32', 'q4'] as const) {
      const { plan, figures: f } = await compare(src, transformerFeeds(), { variant });
      expect(wide(plan.model)).toEqual([]);
      expect(plan.report.splitsRewritten).toBe(wide(src.model).length);
      if (variant === 'fp32') expect(f.rel).toBe(0); // a Split tree moves bytes, it computes nothing
    }
  });

  it('a num_outputs Split of 9 becomes 3 × 3; 11 equal parts are refused with the node named', async () => {
    for (const k of [9, 11]) {
      const g = new GraphBuilder(`split${k}`, 1);
      const x = g.input('x', DType.FLOAT, [2, 'n']);
      const parts = g.nodeN('Split', [x], k, { axis: 1, num_outputs: k });
      const sum = parts.slice(1).reduce((acc, p, i) => g.op('Add', [acc, g.op('Mul', [p, g.float(i + 2)])]), parts[0]!);
      g.output('y', sum, DType.FLOAT, [2, 'n']);
      const src = sourceOf(g);
      if (k === 11) {
        expect(() => planConversion(src.model, src.tensors, { variant: 'fp32' })).toThrow(/11 equal outputs/);
        continue;
      }
      const data = Float32Array.from({ length: 2 * 9 * 3 }, (_, i) => i * 0.25 - 3);
      const { plan, figures: f } = await compare(src, { x: new ort.Tensor('float32', data, [2, 27]) }, { variant: 'fp32' });
      const splits = (plan.model.graph?.node ?? []).filter((n) => n.opType === 'Split');
      expect(splits.map((n) => n.output?.length)).toEqual([3, 3, 3, 3]);
      expect(f.rel).toBe(0);
    }
  });

  it('text encoders and VAE decoder in every variant', async () => {
    const cases: [string, Feeds][] = [
      ['text_encoder', idsFeed(fixture('text_encoder'), 2, 20, 1)],
      ['text_encoder_2', idsFeed(fixture('text_encoder_2'), 2, 20, 2)],
      ['text_encoder_3', idsFeed(fixture('text_encoder_3'), 2, 24, 3)],
      ['vae_decoder', { latent_sample: new ort.Tensor('float32', normal(16 * 8 * 8, 31), [1, 16, 8, 8]) }],
    ];
    for (const [component, feeds] of cases) {
      const src = fixture(component);
      for (const variant of ['fp32', 'q4', 'q4f16', 'fp16'] as Variant[]) {
        const { plan, figures: f } = await compare(src, feeds, { variant });
        note(component, variant, f);
        if (variant === 'fp32') expect(f.rel, `${component} fp32`).toBeLessThan(1e-5);
        else if (variant === 'fp16') expect(f.cos, `${component} fp16`).toBeGreaterThanOrEqual(0.999);
        else expect(f.cos, `${component} ${variant}`).toBeGreaterThanOrEqual(0.98);
        if (component === 'text_encoder_3' && variant === 'fp16') {
          // the relative-position bucket math stays float32
          const casts = plan.model.graph!.node!.filter((n) => n.opType === 'Cast');
          expect(casts.some((n) => n.attribute?.some((a) => a.name === 'to' && toNum(a.i) === 1))).toBe(true);
        }
      }
    }
    console.log(`converter figures:\n  ${figures.join('\n  ')}`);
  });
});
