import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { buildSd3Transformer } from '../src/fixtures/transformer-graph.js';
import { DEFAULT_FIXTURE, type TransformerDims } from '../src/fixtures/fixture-config.js';
import { standardNormal } from '../src/diffusion/noise.js';

const { onnx } = onnxProto;
const DEF = DEFAULT_FIXTURE.transformer;
const SEED = DEFAULT_FIXTURE.seed;

/** Tiny config for the reference forward: block 0 dual (MMDiT-X), block 1 plain, block 2 context_pre_only. */
const SMALL: TransformerDims = {
  inChannels: 4,
  patchSize: 2,
  sampleSize: 8,
  heads: 2,
  headDim: 4,
  layers: 3,
  dualAttentionLayers: [0],
  jointAttentionDim: 12,
  captionProjectionDim: 8,
  pooledProjectionDim: 10,
  posEmbedMaxSize: 8,
};

interface Built {
  session: ort.InferenceSession;
  model: Uint8Array;
  externalData: Uint8Array;
}

async function build(dims: TransformerDims, seed: number): Promise<Built> {
  const { model, externalData } = buildSd3Transformer(dims, seed).serialize({ externalDataFile: 'model.onnx_data' });
  const session = await ort.InferenceSession.create(model, {
    externalData: [{ path: 'model.onnx_data', data: externalData }],
  });
  return { session, model, externalData };
}

const sessions = new Map<string, Promise<Built>>();
const cached = (dims: TransformerDims, seed: number): Promise<Built> => {
  const key = `${JSON.stringify(dims)}|${seed}`;
  let s = sessions.get(key);
  if (!s) sessions.set(key, (s = build(dims, seed)));
  return s;
};

interface Inputs {
  latent: Float32Array; // [B, C, H, W]
  enc: Float32Array; // [B, S, J]
  pooled: Float32Array; // [B, P]
  t: Float32Array; // [B]
  B: number;
  H: number;
  W: number;
  S: number;
}

function makeInputs(dims: TransformerDims, B: number, H: number, W: number, S: number, seed: number, ts?: number[]): Inputs {
  return {
    latent: standardNormal(seed, B * dims.inChannels * H * W),
    enc: standardNormal(seed + 1, B * S * dims.jointAttentionDim),
    pooled: standardNormal(seed + 2, B * dims.pooledProjectionDim),
    t: Float32Array.from(ts ?? Array.from({ length: B }, (_, i) => 1000 - 137.5 * i)),
    B,
    H,
    W,
    S,
  };
}

async function forward(s: ort.InferenceSession, dims: TransformerDims, x: Inputs): Promise<ort.Tensor> {
  const out = await s.run({
    hidden_states: new ort.Tensor('float32', x.latent, [x.B, dims.inChannels, x.H, x.W]),
    encoder_hidden_states: new ort.Tensor('float32', x.enc, [x.B, x.S, dims.jointAttentionDim]),
    pooled_projections: new ort.Tensor('float32', x.pooled, [x.B, dims.pooledProjectionDim]),
    timestep: new ort.Tensor('float32', x.t, [x.B]),
  });
  return out.out_hidden_states!;
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};
const std = (a: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m += a[i]!;
  m /= a.length;
  let q = 0;
  for (let i = 0; i < a.length; i++) q += (a[i]! - m) ** 2;
  return Math.sqrt(q / a.length);
};

// ------------------------------------------------------------------------------------------------
// Independent reference: plain float64 TypeScript of diffusers' SD3Transformer2DModel.forward for
// one batch row. Learned weights are read from the serialized model by their diffusers names (the
// builder appends `_<n>`); the pos-embed table and the timestep sinusoid are recomputed here.
// ------------------------------------------------------------------------------------------------

function readWeights(model: Uint8Array, external: Uint8Array): Map<string, Float32Array> {
  const m = onnx.ModelProto.decode(model);
  const out = new Map<string, Float32Array>();
  for (const t of m.graph!.initializer!) {
    if (t.dataType !== onnx.TensorProto.DataType.FLOAT) continue;
    let bytes: Uint8Array;
    if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
      const kv = Object.fromEntries(t.externalData!.map((e) => [e.key!, e.value!]));
      expect(kv.location).toBe('model.onnx_data');
      bytes = external.slice(Number(kv.offset), Number(kv.offset) + Number(kv.length));
    } else {
      bytes = t.rawData!;
    }
    const aligned = new Uint8Array(bytes.byteLength); // protobuf/Buffer views may be unaligned
    aligned.set(bytes);
    const key = t.name!.replace(/_\d+$/, '');
    if (!key.includes('.')) continue; // constants (f32_*, ones_*), not learned weights
    expect(out.has(key), `duplicate weight ${key}`).toBe(false);
    out.set(key, new Float32Array(aligned.buffer));
  }
  return out;
}

type Mat = { rows: number; cols: number; d: Float64Array };

function refForward(dims: TransformerDims, wts: Map<string, Float32Array>, x: Inputs, b: number): Float64Array {
  const w = (name: string): Float32Array => {
    const v = wts.get(name);
    if (!v) throw new Error(`missing weight ${name}`);
    return v;
  };
  const C = dims.inChannels;
  const p = dims.patchSize;
  const D = dims.heads * dims.headDim;
  const hd = dims.headDim;
  const J = dims.jointAttentionDim;
  const Pd = dims.pooledProjectionDim;
  const M = dims.posEmbedMaxSize;

  const linear = (a: Mat, name: string): Mat => {
    const W = w(`${name}.weight`); // [in, out]
    const bias = w(`${name}.bias`);
    const outC = bias.length;
    expect(W.length).toBe(a.cols * outC);
    const d = new Float64Array(a.rows * outC);
    for (let r = 0; r < a.rows; r++) {
      for (let o = 0; o < outC; o++) {
        let s = bias[o]!;
        for (let i = 0; i < a.cols; i++) s += a.d[r * a.cols + i]! * W[i * outC + o]!;
        d[r * outC + o] = s;
      }
    }
    return { rows: a.rows, cols: outC, d };
  };
  const map = (a: Mat, f: (v: number) => number): Mat => ({ ...a, d: a.d.map(f) });
  const siluF = (v: number): number => v / (1 + Math.exp(-v));
  const geluTanh = (v: number): number => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
  const layerNorm = (a: Mat): Mat => {
    const d = new Float64Array(a.d.length);
    for (let r = 0; r < a.rows; r++) {
      const row = a.d.subarray(r * a.cols, (r + 1) * a.cols);
      const mean = row.reduce((s, v) => s + v, 0) / a.cols;
      const variance = row.reduce((s, v) => s + (v - mean) ** 2, 0) / a.cols;
      for (let i = 0; i < a.cols; i++) d[r * a.cols + i] = (row[i]! - mean) / Math.sqrt(variance + 1e-6);
    }
    return { ...a, d };
  };
  const chunk = (v: Float64Array, k: number, i: number): Float64Array => {
    expect(v.length).toBe(k * D);
    return v.subarray(i * D, (i + 1) * D);
  };
  const modulate = (a: Mat, shift: Float64Array, scale: Float64Array): Mat => ({
    ...a,
    d: a.d.map((v, idx) => v * (1 + scale[idx % a.cols]!) + shift[idx % a.cols]!),
  });
  const addGated = (a: Mat, gate: Float64Array, y: Mat): Mat => ({
    ...a,
    d: a.d.map((v, idx) => v + gate[idx % a.cols]! * y.d[idx]!),
  });
  const rmsHead = (a: Mat, name: string): Mat => {
    const g = w(`${name}.weight`);
    const d = new Float64Array(a.d.length);
    for (let base = 0; base < a.d.length; base += hd) {
      let ms = 0;
      for (let i = 0; i < hd; i++) ms += a.d[base + i]! ** 2;
      const inv = 1 / Math.sqrt(ms / hd + 1e-6);
      for (let i = 0; i < hd; i++) d[base + i] = a.d[base + i]! * inv * g[i]!;
    }
    return { ...a, d };
  };
  const concatRows = (a: Mat, c: Mat): Mat => {
    const d = new Float64Array(a.d.length + c.d.length);
    d.set(a.d);
    d.set(c.d, a.d.length);
    return { rows: a.rows + c.rows, cols: a.cols, d };
  };
  const sliceRows = (a: Mat, from: number, to: number): Mat => ({
    rows: to - from,
    cols: a.cols,
    d: a.d.slice(from * a.cols, to * a.cols),
  });
  // multi-head softmax attention, q/k/v [N, D] with heads laid out as consecutive hd-wide groups
  const attention = (q: Mat, k: Mat, v: Mat): Mat => {
    const N = q.rows;
    const d = new Float64Array(N * D);
    const scores = new Float64Array(N);
    for (let h = 0; h < dims.heads; h++) {
      for (let i = 0; i < N; i++) {
        let mx = -Infinity;
        for (let j = 0; j < N; j++) {
          let s = 0;
          for (let e = 0; e < hd; e++) s += q.d[i * D + h * hd + e]! * k.d[j * D + h * hd + e]!;
          scores[j] = s / Math.sqrt(hd);
          mx = Math.max(mx, scores[j]!);
        }
        let z = 0;
        for (let j = 0; j < N; j++) z += (scores[j] = Math.exp(scores[j]! - mx));
        for (let e = 0; e < hd; e++) {
          let s = 0;
          for (let j = 0; j < N; j++) s += scores[j]! * v.d[j * D + h * hd + e]!;
          d[i * D + h * hd + e] = s / z;
        }
      }
    }
    return { rows: N, cols: D, d };
  };
  const feedForward = (a: Mat, name: string): Mat => linear(map(linear(a, `${name}.net.0.proj`), geluTanh), `${name}.net.2`);

  // --- PatchEmbed: conv k=s=p, flatten, + center-cropped 2-D sin-cos table
  const h = Math.floor(x.H / p);
  const wd = Math.floor(x.W / p);
  const convW = w('pos_embed.proj.weight');
  const convB = w('pos_embed.proj.bias');
  const lat = (c: number, yy: number, xx: number): number => x.latent[((b * C + c) * x.H + yy) * x.W + xx]!;
  const base = dims.sampleSize / p;
  const top = Math.floor((M - h) / 2);
  const left = Math.floor((M - wd) / 2);
  const sincos = (dim: number, pos: number): number[] => {
    const omega = Array.from({ length: dim / 2 }, (_, k) => 1 / 10000 ** (k / (dim / 2)));
    return [...omega.map((o) => Math.sin(pos * o)), ...omega.map((o) => Math.cos(pos * o))];
  };
  let hs: Mat = { rows: h * wd, cols: D, d: new Float64Array(h * wd * D) };
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < wd; j++) {
      // diffusers: grid = meshgrid(grid_w, grid_h, "xy"); emb_h from grid[0] (the column coordinate)
      const gridScale = M / base;
      const pe = [...sincos(D / 2, (left + j) / gridScale), ...sincos(D / 2, (top + i) / gridScale)];
      for (let o = 0; o < D; o++) {
        let s = convB[o]!;
        for (let c = 0; c < C; c++) {
          for (let ky = 0; ky < p; ky++) {
            for (let kx = 0; kx < p; kx++) s += convW[((o * C + c) * p + ky) * p + kx]! * lat(c, i * p + ky, j * p + kx);
          }
        }
        hs.d[(i * wd + j) * D + o] = s + pe[o]!;
      }
    }
  }
  const Ni = h * wd;

  // --- temb = MLP(sinusoid256(t)) + MLP(pooled)
  const t = x.t[b]!;
  // diffusers computes exponent, frequency and t·freq in float32 (args reach 1000 rad, so this matters at 1e-5)
  const f32 = Math.fround;
  const freqs = Array.from({ length: 128 }, (_, i) => f32(Math.exp(f32(f32(-Math.log(10000) * i) / 128))));
  const args = freqs.map((f) => f32(t * f));
  const tproj: Mat = { rows: 1, cols: 256, d: Float64Array.from([...args.map(Math.cos), ...args.map(Math.sin)]) };
  const tEmb = linear(map(linear(tproj, 'time_text_embed.timestep_embedder.linear_1'), siluF), 'time_text_embed.timestep_embedder.linear_2');
  const pooled: Mat = { rows: 1, cols: Pd, d: Float64Array.from(x.pooled.subarray(b * Pd, (b + 1) * Pd)) };
  const pEmb = linear(map(linear(pooled, 'time_text_embed.text_embedder.linear_1'), siluF), 'time_text_embed.text_embedder.linear_2');
  const siluTemb: Mat = { rows: 1, cols: D, d: tEmb.d.map((v, i) => siluF(v + pEmb.d[i]!)) };

  // --- context embedder
  let ctx = linear({ rows: x.S, cols: J, d: Float64Array.from(x.enc.subarray(b * x.S * J, (b + 1) * x.S * J)) }, 'context_embedder');

  for (let l = 0; l < dims.layers; l++) {
    const pre = `transformer_blocks.${l}`;
    const dual = dims.dualAttentionLayers.includes(l);
    const last = l === dims.layers - 1;
    const k = dual ? 9 : 6;
    const e = linear(siluTemb, `${pre}.norm1.linear`).d;
    const [shiftMsa, scaleMsa, gateMsa, shiftMlp, scaleMlp, gateMlp] = [0, 1, 2, 3, 4, 5].map((i) => chunk(e, k, i)) as Float64Array[];
    const ln = layerNorm(hs);
    const normX = modulate(ln, shiftMsa!, scaleMsa!);

    const ec = linear(siluTemb, `${pre}.norm1_context.linear`).d;
    const normC = last ? modulate(layerNorm(ctx), chunk(ec, 2, 1), chunk(ec, 2, 0)) : modulate(layerNorm(ctx), chunk(ec, 6, 0), chunk(ec, 6, 1));

    const a = `${pre}.attn`;
    const q = concatRows(rmsHead(linear(normX, `${a}.to_q`), `${a}.norm_q`), rmsHead(linear(normC, `${a}.add_q_proj`), `${a}.norm_added_q`));
    const kk = concatRows(rmsHead(linear(normX, `${a}.to_k`), `${a}.norm_k`), rmsHead(linear(normC, `${a}.add_k_proj`), `${a}.norm_added_k`));
    const v = concatRows(linear(normX, `${a}.to_v`), linear(normC, `${a}.add_v_proj`));
    const joint = attention(q, kk, v);
    hs = addGated(hs, gateMsa!, linear(sliceRows(joint, 0, Ni), `${a}.to_out.0`));
    if (dual) {
      const normX2 = modulate(ln, chunk(e, 9, 6), chunk(e, 9, 7));
      const a2 = `${pre}.attn2`;
      const o2 = attention(
        rmsHead(linear(normX2, `${a2}.to_q`), `${a2}.norm_q`),
        rmsHead(linear(normX2, `${a2}.to_k`), `${a2}.norm_k`),
        linear(normX2, `${a2}.to_v`),
      );
      hs = addGated(hs, chunk(e, 9, 8), linear(o2, `${a2}.to_out.0`));
    }
    hs = addGated(hs, gateMlp!, feedForward(modulate(layerNorm(hs), shiftMlp!, scaleMlp!), `${pre}.ff`));
    if (!last) {
      ctx = addGated(ctx, chunk(ec, 6, 2), linear(sliceRows(joint, Ni, joint.rows), `${a}.to_add_out`));
      ctx = addGated(ctx, chunk(ec, 6, 5), feedForward(modulate(layerNorm(ctx), chunk(ec, 6, 3), chunk(ec, 6, 4)), `${pre}.ff_context`));
    }
  }

  const eo = linear(siluTemb, 'norm_out.linear').d;
  const proj = linear(modulate(layerNorm(hs), chunk(eo, 2, 1), chunk(eo, 2, 0)), 'proj_out');
  // unpatchify: [h, w, p, q, c] → [c, h·p, w·q]
  const out = new Float64Array(C * h * p * wd * p);
  for (let i = 0; i < h; i++)
    for (let j = 0; j < wd; j++)
      for (let py = 0; py < p; py++)
        for (let px = 0; px < p; px++)
          for (let c = 0; c < C; c++) {
            out[(c * h * p + i * p + py) * wd * p + j * p + px] = proj.d[(i * wd + j) * proj.cols + (py * p + px) * C + c]!;
          }
  return out;
}

// ------------------------------------------------------------------------------------------------

describe('SD3 transformer fixture graph', () => {
  it('has the optimum sd3-transformer-2d interface and only WebGPU-friendly ops', async () => {
    const { session, model } = await cached(DEF, SEED);
    expect(session.inputNames).toEqual(['hidden_states', 'encoder_hidden_states', 'pooled_projections', 'timestep']);
    expect(session.outputNames).toEqual(['out_hidden_states']);

    const m = onnx.ModelProto.decode(model);
    expect(m.opsetImport!.map((o) => [o.domain ?? '', Number(o.version)])).toEqual([['', 18]]);
    const dimsOf = (vi: onnxProto.onnx.IValueInfoProto): (string | number)[] =>
      vi.type!.tensorType!.shape!.dim!.map((d) => (d.dimParam ? d.dimParam : Number(d.dimValue)));
    const io = [...m.graph!.input!, ...m.graph!.output!].map((vi) => [vi.name, vi.type!.tensorType!.elemType, dimsOf(vi)]);
    const F = onnx.TensorProto.DataType.FLOAT;
    expect(io).toEqual([
      ['hidden_states', F, ['batch_size', DEF.inChannels, 'height', 'width']],
      ['encoder_hidden_states', F, ['batch_size', 'sequence_length', DEF.jointAttentionDim]],
      ['pooled_projections', F, ['batch_size', DEF.pooledProjectionDim]],
      ['timestep', F, ['step']],
      ['out_hidden_states', F, ['batch_size', DEF.inChannels, 'height', 'width']],
    ]);
    const ops = new Set(m.graph!.node!.map((n) => n.opType!));
    const allowed = new Set([
      'Add', 'Mul', 'Sub', 'Div', 'Pow', 'Sqrt', 'Sin', 'Cos', 'Tanh', 'Sigmoid', 'Softmax', 'MatMul',
      'LayerNormalization', 'Conv', 'Reshape', 'Transpose', 'Concat', 'Slice', 'Shape', 'Unsqueeze',
      'ReduceMean', 'Split', 'Identity',
    ]);
    for (const op of ops) expect(allowed.has(op), `unexpected op ${op}`).toBe(true);
    expect(ops.has('Gemm')).toBe(false);
    // every 2-D float weight feeds a MatMul (quantizable), none a Gemm
    const matmulWeights = m.graph!.node!.filter((n) => n.opType === 'MatMul').map((n) => n.input![1]!);
    const inits = new Map(m.graph!.initializer!.map((t) => [t.name!, t]));
    const linearWeights = [...inits.values()].filter((t) => t.dims!.length === 2 && t.dataType === F);
    expect(linearWeights.length).toBeGreaterThan(0);
    for (const t of linearWeights) expect(matmulWeights).toContain(t.name);
  });

  it('is deterministic per seed and small', async () => {
    const a = buildSd3Transformer(DEF, SEED).serialize({ externalDataFile: 'model.onnx_data' });
    const b = buildSd3Transformer(DEF, SEED).serialize({ externalDataFile: 'model.onnx_data' });
    const c = buildSd3Transformer(DEF, SEED + 1).serialize({ externalDataFile: 'model.onnx_data' });
    expect(Buffer.from(a.model).equals(Buffer.from(b.model))).toBe(true);
    expect(Buffer.from(a.externalData).equals(Buffer.from(b.externalData))).toBe(true);
    expect(Buffer.from(a.externalData).equals(Buffer.from(c.externalData))).toBe(false);
    expect(a.model.byteLength + a.externalData.byteLength).toBeLessThan(1.5 * 1024 * 1024);
  });

  it.each([
    [1, 32, 32, 333],
    [2, 32, 32, 333],
    [1, 24, 40, 77],
    [2, 24, 40, 77],
    [2, 40, 24, 333],
  ])('batch %i, latent %ix%i, %i text tokens: shape and finite values', async (B, H, W, S) => {
    const { session } = await cached(DEF, SEED);
    const out = await forward(session, DEF, makeInputs(DEF, B, H, W, S, 11));
    expect(out.dims).toEqual([B, DEF.inChannels, H, W]);
    expect(out.type).toBe('float32');
    const d = out.data as Float32Array;
    expect(d.every(Number.isFinite)).toBe(true);
    const s = std(d);
    expect(s).toBeGreaterThan(0.3);
    expect(s).toBeLessThan(1.5);
  });

  it('keeps batch rows independent', async () => {
    const { session } = await cached(DEF, SEED);
    for (const [H, W, S] of [
      [32, 32, 333],
      [24, 40, 77],
    ] as const) {
      const two = makeInputs(DEF, 2, H, W, S, 21, [1000, 602.1506]);
      const outTwo = (await forward(session, DEF, two)).data as Float32Array;
      const row = (a: Float32Array, n: number): Float32Array => a.subarray((a.length / 2) * n, (a.length / 2) * (n + 1));
      for (const r of [0, 1]) {
        const one: Inputs = { ...two, B: 1, latent: row(two.latent, r), enc: row(two.enc, r), pooled: row(two.pooled, r), t: two.t.subarray(r, r + 1) };
        const outOne = (await forward(session, DEF, one)).data as Float32Array;
        expect(maxAbsDiff(row(outTwo, r), outOne)).toBeLessThan(1e-5);
      }
    }
  });

  it('depends on timestep, encoder_hidden_states and pooled_projections', async () => {
    const { session } = await cached(DEF, SEED);
    const x = makeInputs(DEF, 1, 32, 32, 333, 31, [1000]);
    const base = (await forward(session, DEF, x)).data as Float32Array;
    const again = (await forward(session, DEF, x)).data as Float32Array;
    expect(maxAbsDiff(base, again)).toBe(0);
    const variants: Inputs[] = [
      { ...x, t: Float32Array.from([602.1506]) },
      { ...x, t: Float32Array.from([8.9286]) },
      { ...x, enc: standardNormal(99, x.enc.length) },
      { ...x, enc: new Float32Array(x.enc.length) },
      { ...x, pooled: standardNormal(98, x.pooled.length) },
    ];
    for (const v of variants) {
      const o = (await forward(session, DEF, v)).data as Float32Array;
      const rel = Math.sqrt(o.reduce((s, val, i) => s + (val - base[i]!) ** 2, 0) / base.reduce((s, val) => s + val * val, 0));
      expect(rel).toBeGreaterThan(0.05);
    }
  });

  it('runs one CFG forward (batch 2, 32x32, 333 tokens) well under a second on CPU', async () => {
    const { session } = await cached(DEF, SEED);
    const x = makeInputs(DEF, 2, 32, 32, 333, 41);
    await forward(session, DEF, x);
    const t0 = performance.now();
    await forward(session, DEF, x);
    expect(performance.now() - t0).toBeLessThan(500);
  });

  it('matches an independent float64 reference forward (dual block, context_pre_only block, non-square crop)', async () => {
    const { session, model, externalData } = await cached(SMALL, 7);
    const wts = readWeights(model, externalData);
    for (const [H, W, S] of [
      [6, 10, 7], // grid 3x5: crop top 2, left 1
      [8, 8, 5], // grid 4x4 = base size: crop 2, 2
      [16, 14, 3], // grid 8x7: the full table height
    ] as const) {
      const x = makeInputs(SMALL, 2, H, W, S, 51 + H, [1000, 250.5]);
      const out = (await forward(session, SMALL, x)).data as Float32Array;
      const per = out.length / 2;
      for (let b = 0; b < 2; b++) {
        const ref = refForward(SMALL, wts, x, b);
        expect(maxAbsDiff(out.subarray(b * per, (b + 1) * per), ref)).toBeLessThan(1e-4);
      }
    }
  });

  it('rejects a latent grid larger than posEmbedMaxSize (as diffusers raises)', async () => {
    const { session } = await cached(SMALL, 7);
    const M = SMALL.posEmbedMaxSize * SMALL.patchSize;
    await expect(forward(session, SMALL, makeInputs(SMALL, 1, M + 2, 8, 3, 61))).rejects.toThrow();
    await expect(forward(session, SMALL, makeInputs(SMALL, 1, 8, M + 4, 3, 62))).rejects.toThrow();
    const ok = await forward(session, SMALL, makeInputs(SMALL, 1, M, M, 3, 63));
    expect(ok.dims).toEqual([1, SMALL.inChannels, M, M]);
  });
});
