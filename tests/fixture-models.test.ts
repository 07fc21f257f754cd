/**
 * The tiny fixture models: folder layout, exact optimum I/O names, shapes on dynamic axes, numerics that
 * the pipeline relies on (batch independence, CLIP causality and pooling, T5 buckets), size, determinism.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_FIXTURE, type FixtureConfig } from '../src/fixtures/fixture-config.js';
import { writeFixture, type FixtureSummary } from '../src/fixtures/write-fixture.js';
import { DType, GraphBuilder, onnx } from '../src/onnx/graph-builder.js';
import { relativePositionBuckets } from '../src/fixtures/t5-graph.js';
import { standardNormal } from '../src/diffusion/noise.js';

type Feeds = Record<string, ort.Tensor>;
type Outputs = Record<string, ort.Tensor>;

const cfg = DEFAULT_FIXTURE;
const t5 = cfg.t5!;
let root: string;
let dir: string;
let summary: FixtureSummary;
const sessions = new Map<string, ort.InferenceSession>();

async function session(component: string): Promise<ort.InferenceSession> {
  let s = sessions.get(component);
  if (!s) {
    s = await ort.InferenceSession.create(join(dir, component, 'model.onnx'));
    sessions.set(component, s);
  }
  return s;
}

const f32 = (data: Float32Array, dims: number[]) => new ort.Tensor('float32', data, dims);
const i64 = (ids: number[][]) =>
  new ort.Tensor('int64', BigInt64Array.from(ids.flat().map(BigInt)), [ids.length, ids[0]!.length]);
const data = (t: ort.Tensor) => t.data as Float32Array;

/** Slice row `b` of a batch-major tensor. */
function row(t: ort.Tensor, b: number): Float32Array {
  const per = t.size / t.dims[0]!;
  return data(t).subarray(b * per, (b + 1) * per);
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function expectFinite(outs: Outputs): void {
  for (const [name, t] of Object.entries(outs)) {
    const bad = data(t).findIndex((v) => !Number.isFinite(v));
    expect(bad, `${name} has a non-finite value`).toBe(-1);
  }
}

function stats(a: Float32Array): { mean: number; std: number } {
  let s = 0;
  let s2 = 0;
  for (const v of a) {
    s += v;
    s2 += v * v;
  }
  const mean = s / a.length;
  return { mean, std: Math.sqrt(s2 / a.length - mean * mean) };
}

/** Batch-2 run vs batch-1 runs of each row: every output row must match (rows are independent). */
async function checkBatchIndependence(s: ort.InferenceSession, feeds2: Feeds, split: (b: number) => Feeds): Promise<Outputs> {
  const out2 = await s.run(feeds2);
  expectFinite(out2);
  for (const b of [0, 1]) {
    const out1 = await s.run(split(b));
    for (const name of s.outputNames) {
      expect(out2[name]!.dims.slice(1)).toEqual(out1[name]!.dims.slice(1));
      expect(maxAbsDiff(row(out2[name]!, b), data(out1[name]!)), `${name} row ${b}`).toBeLessThan(1e-5);
    }
  }
  return out2;
}

/** Deterministic pseudo-random token ids in [lo, hi). */
function ids(seed: number, n: number, lo: number, hi: number): number[] {
  const u = standardNormal(seed, n);
  return Array.from(u, (v) => lo + (Math.floor(Math.abs(v) * 7919) % (hi - lo)));
}

async function vocabSize(component: string): Promise<number> {
  const c = JSON.parse(await readFile(join(dir, component, 'config.json'), 'utf8')) as { vocab_size: number };
  return c.vocab_size;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fixture-models-'));
  dir = join(root, 'tiny-sd3');
  summary = await writeFixture(dir, cfg);
});

afterAll(async () => {
  for (const s of sessions.values()) await s.release();
  await rm(root, { recursive: true, force: true });
});

describe('fixture folder', () => {
  it('has the optimum layout, diffusers model_index and configs', async () => {
    expect(summary.upToDate).toBe(false);
    for (const c of ['text_encoder', 'text_encoder_2', 'text_encoder_3', 'transformer', 'vae_decoder', 'vae_encoder']) {
      for (const f of ['model.onnx', 'model.onnx_data', 'config.json']) expect(existsSync(join(dir, c, f)), `${c}/${f}`).toBe(true);
    }
    for (const t of ['tokenizer', 'tokenizer_2', 'tokenizer_3']) {
      for (const f of ['tokenizer.json', 'tokenizer_config.json']) expect(existsSync(join(dir, t, f)), `${t}/${f}`).toBe(true);
    }
    const index = JSON.parse(await readFile(join(dir, 'model_index.json'), 'utf8'));
    expect(index._class_name).toBe('StableDiffusion3Pipeline');
    expect(index.text_encoder).toEqual(['transformers', 'CLIPTextModelWithProjection']);
    expect(index.text_encoder_3).toEqual(['transformers', 'T5EncoderModel']);
    const sched = JSON.parse(await readFile(join(dir, 'scheduler/scheduler_config.json'), 'utf8'));
    expect(sched).toEqual({ _class_name: 'FlowMatchEulerDiscreteScheduler', num_train_timesteps: 1000, shift: 3.0 });
    const trf = JSON.parse(await readFile(join(dir, 'transformer/config.json'), 'utf8'));
    expect(trf).toMatchObject({ in_channels: 16, patch_size: 2, qk_norm: 'rms_norm', joint_attention_dim: 96, pooled_projection_dim: 80 });
    const vae = JSON.parse(await readFile(join(dir, 'vae_decoder/config.json'), 'utf8'));
    expect(vae).toMatchObject({ latent_channels: 16, scaling_factor: 1.5305, shift_factor: 0.0609, block_out_channels: [8, 16, 16, 16] });
    const te2 = JSON.parse(await readFile(join(dir, 'text_encoder_2/config.json'), 'utf8'));
    expect(te2).toMatchObject({ hidden_act: 'gelu', hidden_size: 48, num_hidden_layers: 3, projection_dim: 48 });
  });

  it('is small (< 10 MB), deterministic and skipped when unchanged', async () => {
    expect(summary.totalBytes).toBeLessThan(10_000_000);
    const again = await writeFixture(dir, cfg);
    expect(again.upToDate).toBe(true);
    const other = await writeFixture(join(root, 'second'), cfg, { force: true });
    expect(other.upToDate).toBe(false);
    expect(other.files).toEqual(summary.files);
    expect(await readFile(join(root, 'second', 'fixture.json'))).toEqual(await readFile(join(dir, 'fixture.json')));
  });

  it('without T5 has null entries and no T5 folders; shared components identical', async () => {
    const noT5: FixtureConfig = { ...cfg, t5: null };
    const s = await writeFixture(join(root, 'no-t5'), noT5);
    const index = JSON.parse(await readFile(join(root, 'no-t5', 'model_index.json'), 'utf8'));
    expect(index.text_encoder_3).toEqual([null, null]);
    expect(index.tokenizer_3).toEqual([null, null]);
    expect(existsSync(join(root, 'no-t5', 'text_encoder_3'))).toBe(false);
    expect(existsSync(join(root, 'no-t5', 'tokenizer_3'))).toBe(false);
    expect(s.files['transformer/model.onnx_data']).toEqual(summary.files['transformer/model.onnx_data']);
    expect(s.files['text_encoder/model.onnx']).toEqual(summary.files['text_encoder/model.onnx']);
  });

  it('uses only WebGPU-friendly opset-18 ops, external data in model.onnx_data, no Gemm/GroupNormalization', async () => {
    const allowed = new Set(
      ('MatMul Add Mul Sub Div Pow Sqrt Reciprocal Erf Tanh Sigmoid Softmax LayerNormalization InstanceNormalization ' +
        'Conv Resize Reshape Transpose Concat Slice Gather GatherElements Shape Unsqueeze Squeeze Expand Where Cast ' +
        'Range ArgMax ReduceMean ReduceSum Neg Abs Log Less Equal Pad Identity Split').split(' '),
    );
    for (const c of ['text_encoder', 'text_encoder_2', 'text_encoder_3', 'vae_decoder', 'vae_encoder', 'transformer']) {
      const m = onnx.ModelProto.decode(await readFile(join(dir, c, 'model.onnx')));
      expect(Number(m.opsetImport.find((o) => !o.domain)?.version)).toBe(18);
      const ops = new Set(m.graph!.node!.map((n) => n.opType!));
      expect(ops.has('Gemm'), c).toBe(false);
      expect(ops.has('GroupNormalization'), c).toBe(false);
      if (c !== 'transformer') expect([...ops].filter((o) => !allowed.has(o)), c).toEqual([]);
      const locations = new Set(
        m.graph!.initializer!.flatMap((t) => (t.externalData ?? []).filter((e) => e.key === 'location').map((e) => e.value)),
      );
      expect([...locations]).toEqual(['model.onnx_data']);
    }
  });
});

describe('CLIP text encoders', () => {
  for (const [component, dims] of [
    ['text_encoder', cfg.clipL],
    ['text_encoder_2', cfg.clipG],
  ] as const) {
    it(`${component}: names, shapes, batch independence`, async () => {
      const s = await session(component);
      const L = dims.layers;
      expect(s.inputNames).toEqual(['input_ids']);
      expect(s.outputNames).toEqual(['text_embeds', 'last_hidden_state', ...Array.from({ length: L + 1 }, (_, i) => `hidden_states.${i}`)]);
      const V = await vocabSize(component);
      for (const S of [77, 12]) {
        const a = [V - 2, ...ids(1, S - 2, 0, V - 1), V - 1];
        const b = [V - 2, ...ids(2, S - 4, 0, V - 1), V - 1, 0, 0];
        const out = await checkBatchIndependence(s, { input_ids: i64([a, b]) }, (r) => ({ input_ids: i64([[a, b][r]!]) }));
        expect(out.text_embeds!.dims).toEqual([2, dims.projection]);
        expect(out.last_hidden_state!.dims).toEqual([2, S, dims.hidden]);
        for (let i = 0; i <= L; i++) expect(out[`hidden_states.${i}`]!.dims).toEqual([2, S, dims.hidden]);
      }
    });

    it(`${component}: causal attention and pooling at the first largest id`, async () => {
      const s = await session(component);
      const V = await vocabSize(component);
      const EOS = V - 1;
      const base = [V - 2, ...ids(3, 20, 0, EOS)];
      const padded = (prefix: number[]) => [...prefix, ...Array<number>(77 - prefix.length).fill(EOS)];
      const a = padded(base);
      const b = a.slice();
      b[10] = (b[10]! + 1) % EOS;
      const [oa, ob] = [await s.run({ input_ids: i64([a]) }), await s.run({ input_ids: i64([b]) })];
      const H = dims.hidden;
      for (let i = 0; i <= dims.layers; i++) {
        const ha = data(oa[`hidden_states.${i}`]!);
        const hb = data(ob[`hidden_states.${i}`]!);
        expect(maxAbsDiff(ha.subarray(0, 10 * H), hb.subarray(0, 10 * H))).toBeLessThan(1e-6);
        expect(maxAbsDiff(ha.subarray(10 * H, 11 * H), hb.subarray(10 * H, 11 * H))).toBeGreaterThan(1e-4);
      }
      // EOS first at position 21 in both; what follows differs (so the last EOS's hidden state differs).
      const c = padded([...base, EOS, 5, 6, 7]);
      const oc = await s.run({ input_ids: i64([c]) });
      const lastRow = (o: Outputs) => data(o.last_hidden_state!).subarray(76 * H, 77 * H);
      expect(maxAbsDiff(lastRow(oa), lastRow(oc))).toBeGreaterThan(1e-4);
      expect(maxAbsDiff(data(oa.text_embeds!), data(oc.text_embeds!))).toBeLessThan(1e-6);
      // Moving the first EOS changes the pooled vector.
      const d = padded([...base.slice(0, 15)]);
      const od = await s.run({ input_ids: i64([d]) });
      expect(maxAbsDiff(data(oa.text_embeds!), data(od.text_embeds!))).toBeGreaterThan(1e-4);
    });
  }
});

describe('T5 encoder', () => {
  it('names, shapes, batch independence, all positions visible', async () => {
    const s = await session('text_encoder_3');
    expect(s.inputNames).toEqual(['input_ids']);
    expect(s.outputNames).toEqual(['last_hidden_state']);
    const V = await vocabSize('text_encoder_3');
    for (const S of [256, 7]) {
      const a = [...ids(4, S - 1, 3, V), 1];
      const b = [...ids(5, S - 3, 3, V), 1, 0, 0];
      const out = await checkBatchIndependence(s, { input_ids: i64([a, b]) }, (r) => ({ input_ids: i64([[a, b][r]!]) }));
      expect(out.last_hidden_state!.dims).toEqual([2, S, t5.dModel]);
    }
    // Bidirectional: changing the last token changes the first position's output.
    const a = [...ids(6, 15, 3, V), 1];
    const b = a.slice();
    b[14] = 3 + ((b[14]! - 2) % (V - 3));
    const [oa, ob] = [await s.run({ input_ids: i64([a]) }), await s.run({ input_ids: i64([b]) })];
    expect(maxAbsDiff(data(oa.last_hidden_state!).subarray(0, t5.dModel), data(ob.last_hidden_state!).subarray(0, t5.dModel))).toBeGreaterThan(1e-4);
  });

  it("relative position buckets equal T5's _relative_position_bucket (bidirectional)", async () => {
    // Reference: transformers T5Attention._relative_position_bucket, float32 where torch uses float32.
    const ref = (rel: number): number => {
      const nb = t5.relativeBuckets / 2;
      const maxExact = nb / 2;
      let bucket = rel > 0 ? nb : 0;
      const n = Math.abs(rel);
      if (n < maxExact) return bucket + n;
      const f = Math.fround;
      const v = f(f(f(Math.log(f(n / maxExact))) / f(Math.log(t5.relativeMaxDistance / maxExact))) * (nb - maxExact));
      bucket += Math.min(maxExact + Math.trunc(v), nb - 1);
      return bucket;
    };
    const g = new GraphBuilder('buckets', 0);
    const x = g.input('x', DType.INT64, ['n']);
    const len = g.op('Gather', [g.op('Shape', [x]), g.int64([0], [])], { axis: 0 });
    g.output('buckets', relativePositionBuckets(g, len, t5), DType.INT64, ['n', 'n']);
    const m = g.serialize({ externalDataFile: 'unused' });
    const s = await ort.InferenceSession.create(m.model);
    const S = 300;
    const out = await s.run({ x: new ort.Tensor('int64', new BigInt64Array(S), [S]) });
    const got = out.buckets!.data as BigInt64Array;
    const expected = Array.from({ length: S * S }, (_, i) => ref((i % S) - Math.floor(i / S)));
    expect(Array.from(got, Number)).toEqual(expected);
    // S = 300 > maxDistance reaches every bucket but one: `positive` with |rel| = 0 cannot occur.
    expect(new Set(expected).size).toBe(t5.relativeBuckets - 1);
    await s.release();
  });
});

describe('VAE', () => {
  const C = cfg.vae.latentChannels;
  it('decoder: names, shapes (square and 32×24), batch independence, output std', async () => {
    const s = await session('vae_decoder');
    expect(s.inputNames).toEqual(['latent_sample']);
    expect(s.outputNames).toEqual(['sample']);
    for (const [h, w] of [
      [32, 32],
      [32, 24],
    ] as const) {
      const n = C * h * w;
      const z = standardNormal(7, 2 * n);
      const out = await checkBatchIndependence(s, { latent_sample: f32(z, [2, C, h, w]) }, (b) => ({
        latent_sample: f32(z.slice(b * n, (b + 1) * n), [1, C, h, w]),
      }));
      expect(out.sample!.dims).toEqual([2, 3, 8 * h, 8 * w]);
      if (h === w) {
        const { std } = stats(row(out.sample!, 0));
        expect(std).toBeGreaterThan(0.2);
        expect(std).toBeLessThan(1.0);
      }
    }
  });

  it('encoder: names, shapes (256×192), batch independence', async () => {
    const s = await session('vae_encoder');
    expect(s.inputNames).toEqual(['sample']);
    expect(s.outputNames).toEqual(['latent_parameters']);
    const [H, W] = [256, 192];
    const n = 3 * H * W;
    const x = standardNormal(8, 2 * n).map(Math.tanh);
    const out = await checkBatchIndependence(s, { sample: f32(x, [2, 3, H, W]) }, (b) => ({
      sample: f32(x.slice(b * n, (b + 1) * n), [1, 3, H, W]),
    }));
    expect(out.latent_parameters!.dims).toEqual([2, 2 * C, H / 8, W / 8]);
  });
});

describe('transformer (interface only; its graph has its own tests)', () => {
  it('names and shapes for batch 1/2 and a 32×24 latent', async () => {
    const s = await session('transformer');
    const t = cfg.transformer;
    expect(s.inputNames).toEqual(['hidden_states', 'encoder_hidden_states', 'pooled_projections', 'timestep']);
    expect(s.outputNames).toEqual(['out_hidden_states']);
    for (const B of [1, 2]) {
      const out = await s.run({
        hidden_states: f32(standardNormal(9, B * 16 * 32 * 24), [B, 16, 32, 24]),
        encoder_hidden_states: f32(standardNormal(10, B * 333 * t.jointAttentionDim), [B, 333, t.jointAttentionDim]),
        pooled_projections: f32(standardNormal(11, B * t.pooledProjectionDim), [B, t.pooledProjectionDim]),
        timestep: f32(new Float32Array(B).fill(857.6923), [B]),
      });
      expect(out.out_hidden_states!.dims).toEqual([B, 16, 32, 24]);
      expectFinite(out);
    }
  });
});
