/**
 * The graph planner: turns a decoded source graph (initializer metadata only, no tensor data) into the
 * output graph of one pack variant plus a recipe per output initializer (plan-types.ts), and
 * `materialize`, which computes one recipe's bytes from source tensors.
 *
 * Passes, in order:
 *  1. Gemm with a constant 2-D B, alpha = beta = 1, transA = 0 → MatMul (+ Add C). transB = 1 plans the
 *     weight transposed (recipe transpose-2d, or a q4 recipe with `transposed`). Other Gemms stay.
 *  2. GroupNormalization (ai.onnx; opset < 21: per-group scale/bias [G], opset ≥ 21: per-channel [C]) and
 *     com.microsoft GroupNorm (NHWC unless channels_last = 0; optional SiLU) → Reshape [0, G, −1] →
 *     InstanceNormalization (eps) → Reshape … → Mul γ → Add β, ops the WebGPU (JSEP) EP implements.
 *  3. Optional pos-embed crop (contract §3.2).
 *  4. q4 / q4f16: MatMul with a constant 2-D float weight [K, N] → com.microsoft MatMulNBits (bits 4,
 *     symmetric, no zero_points). A bias Add stays a separate node: the JSEP MatMulNBits kernel accepts
 *     only 3 or 4 inputs (no bias input). Skipped (report.matMulSkipped): K or N < MIN_Q4_DIM, K odd.
 *  5. Precision: every float tensor becomes the variant's compute type (float16 for fp16 / q4f16, float32
 *     otherwise); graph float inputs/outputs are float32 with Casts at the boundary; nodes kept in fp32
 *     get Casts around them. Float initializers get to-fp16 / to-fp32 (or the transposed / cropped / q4
 *     recipe in that dtype); an initializer needed in both precisions is written twice (`<name>_fp32`).
 *     A source whose weights are mostly float16 (an fp16 export) keeps its own explicit float32 regions
 *     (exporter upcasts) and converts its float16 parts to the compute type.
 *
 * Planning reads no external tensor data. It does read a few small INLINE constants of the graph itself
 * (Pow exponents, the pos-embed crop's int64 size constants), which are part of the .onnx structure.
 */
import onnxProto from 'onnx-proto';
import type {
  ConversionPlan,
  ModelProto,
  PlannedInitializer,
  PlanOptions,
  PlanReport,
  ReadSourceTensor,
  SourceTensorInfo,
  TensorRecipe,
} from './plan-types.js';
import { bytesOf, copyBytes, float16ArrayToFloat32, float32ArrayToFloat16, float32View, uint16View } from './float16.js';
import { q4BlockCount, quantizeQ4, type Q4Result } from './quantize-q4.js';

const { onnx } = onnxProto;
type INode = onnxProto.onnx.INodeProto;
type IAttr = onnxProto.onnx.IAttributeProto;
type ITensor = onnxProto.onnx.ITensorProto;
type IValueInfo = onnxProto.onnx.IValueInfoProto;

export const DT = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  BFLOAT16: 16,
} as const;

const ELEMENT_SIZE: Record<number, number> = { 1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 16: 2 };
/** Outputs a Split may have so that input + outputs fit WebGPU's default 8 storage buffers per stage. */
export const MAX_SPLIT_OUTPUTS = 7;
const isFloat = (t: number | undefined): boolean => t === DT.FLOAT || t === DT.FLOAT16;

/**
 * MatMuls left in float in q4 variants by default (regex sources, tested against the weight initializer
 * name and the node name): the transformer's entry and exit layers — timestep/pooled embedders, the
 * context embedder and the final projection. Not quantizing the first and last layers is common practice;
 * for SD3.5 Medium they hold ≈ 15 M of 2.2 B parameters (≈ 30 MB in fp16), while the AdaLN modulation
 * layers (a third of the model) are still quantized. On the fixture transformer this moves the q4 output
 * cosine from 0.986 (everything quantized) to 0.992. Pass [] to quantize everything.
 */
export const DEFAULT_Q4_KEEP_FLOAT: readonly string[] = ['(^|[./])(time_text_embed|context_embedder|proj_out)[./]'];

/** Weights with K or N below this stay unquantized (tiny tables such as T5's relative-bias projections). */
export const MIN_Q4_DIM = 16;

/**
 * Op types kept in float32 wholesale in fp16 variants by default: none. What overflows in fp16 is caught
 * by patterns instead (always on, see `keepNormStatisticsFp32` / index islands below), because a list of
 * op types is either too coarse (every Mul) or too weak (ReduceMean alone does not help when x² already
 * overflowed before it):
 *  - Normalization statistics written out as ops (RMSNorm of T5 and of SD3's qk-norm, decomposed
 *    LayerNorm): the squaring node (Pow(x, 2) or Mul(x, x)) feeding a ReduceMean, the ReduceMean, and the
 *    chain after it that only mixes in constants (Add ε, Sqrt, Reciprocal, Pow(·, −½), Div(1, ·)). In fp16,
 *    x² is already ∞ for |x| > 256, which T5 v1.1 hidden states exceed (contract §10). The final
 *    Mul/Div with x runs in fp16 again (1/σ and σ are representable).
 *  - Integer-derived index math: a float computation that starts from integers (Cast int → float, plus
 *    float constants) and ends in integers (Cast → int), such as T5's log-spaced relative-position buckets:
 *    fp16 rounding would move bucket boundaries.
 * Not kept, because their kernels already accumulate in float32 (checked in onnxruntime-web 1.30 JSEP
 * and in the CPU EP): LayerNormalization, SimplifiedLayerNormalization, InstanceNormalization, ReduceMean
 * on its own, Softmax. Known limit: T5-XXL's residual stream itself can exceed 65504 (HF clamps it, or
 * keeps the FF output projections `wo` in fp32); use q4 (fp32 activations) for T5, or pass the `wo`
 * MatMul and residual Add node names in keepFp32NodeNames.
 */
export const DEFAULT_KEEP_FP32_OP_TYPES: readonly string[] = [];

/** (op type, input index) slots whose ONNX type is float32 whatever the data type (Resize scales). */
const FP32_SLOTS: Record<string, number[]> = { Resize: [2], Upsample: [1] };

export class PlanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlanError';
  }
}

// ---------------------------------------------------------------------------------------------------
// small helpers over onnx-proto objects (int64 fields may be Long objects after decode)

type LongLike = number | { toNumber(): number } | null | undefined;
const num = (v: LongLike): number => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());

function attr(node: INode, name: string): IAttr | undefined {
  return (node.attribute ?? []).find((a) => a.name === name);
}
function attrInt(node: INode, name: string, dflt: number): number {
  const a = attr(node, name);
  return a ? num(a.i as LongLike) : dflt;
}
function attrFloat(node: INode, name: string, dflt: number): number {
  const a = attr(node, name);
  return a ? (a.f ?? 0) : dflt;
}
const A = onnx.AttributeProto.AttributeType;
const intAttr = (name: string, i: number): IAttr => ({ name, type: A.INT, i });
const floatAttr = (name: string, f: number): IAttr => ({ name, type: A.FLOAT, f });
const intsAttr = (name: string, ints: number[]): IAttr => ({ name, type: A.INTS, ints });

/** Inline data of a TensorProto as raw little-endian bytes, or null (external / unsupported). */
export function inlineTensorBytes(t: ITensor): Uint8Array | null {
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) return null;
  if (t.rawData && t.rawData.length) return t.rawData;
  const count = (t.dims ?? []).reduce<number>((a, d) => a * num(d as LongLike), 1);
  switch (t.dataType) {
    case DT.FLOAT:
      if (t.floatData?.length) return bytesOf(Float32Array.from(t.floatData));
      break;
    case DT.INT64:
      if (t.int64Data?.length) return bytesOf(BigInt64Array.from(t.int64Data.map((v) => BigInt(num(v as LongLike)))));
      break;
    case DT.INT32:
      if (t.int32Data?.length) return bytesOf(Int32Array.from(t.int32Data));
      break;
    case DT.FLOAT16:
      if (t.int32Data?.length) return bytesOf(Uint16Array.from(t.int32Data));
      break;
    case DT.DOUBLE:
      if (t.doubleData?.length) return bytesOf(Float64Array.from(t.doubleData));
      break;
    default:
      break;
  }
  return count === 0 ? new Uint8Array(0) : null;
}

function readInlineInts(t: ITensor): number[] | null {
  const bytes = inlineTensorBytes(t);
  if (!bytes) return null;
  if (t.dataType === DT.INT64) {
    const c = copyBytes(bytes);
    return Array.from(new BigInt64Array(c.buffer, 0, c.byteLength / 8), (v) => Number(v));
  }
  if (t.dataType === DT.INT32) {
    const c = copyBytes(bytes);
    return Array.from(new Int32Array(c.buffer, 0, c.byteLength / 4));
  }
  return null;
}

function readInlineFloats(t: ITensor): number[] | null {
  const bytes = inlineTensorBytes(t);
  if (!bytes) return null;
  if (t.dataType === DT.FLOAT) return Array.from(float32View(bytes));
  if (t.dataType === DT.FLOAT16) return Array.from(float16ArrayToFloat32(uint16View(bytes)));
  return null;
}

/** A float tensor attribute value re-encoded as `dtype` (FLOAT or FLOAT16), inline. */
function convertFloatTensor(t: ITensor, dtype: number, where: string): ITensor {
  if (t.dataType === dtype) return t;
  const values = readInlineFloats(t);
  if (!values) throw new PlanError(`${where}: cannot read its float constant to convert it`);
  const f32 = Float32Array.from(values);
  const rawData = dtype === DT.FLOAT16 ? bytesOf(float32ArrayToFloat16(f32)) : bytesOf(f32);
  return { name: t.name, dims: t.dims, dataType: dtype, rawData };
}

// ---------------------------------------------------------------------------------------------------
// logical initializers: what each output initializer is, before its final dtype is known

interface LogicalInit {
  name: string;
  dims: number[];
  /** Element type as the graph sees it before the precision pass. */
  type: number;
  kind: 'float' | 'other' | 'q4w' | 'q4s' | 'literal';
  source?: string;
  /** float: the source is [N, K] and is written transposed (Gemm transB = 1). */
  transposed?: boolean;
  crop?: { from: number; to: number; dim: number };
  q4?: { K: number; N: number; blockSize: number; transposed: boolean };
  /** literal float values (converted at the end) or raw non-float bytes. */
  values?: Float32Array;
  bytes?: Uint8Array;
  /** The element type follows this tensor's (resolved after type inference). */
  typeOf?: string;
}

const defaultReport = (): PlanReport => ({
  gemmToMatMul: 0,
  matMulQuantized: 0,
  matMulSkipped: [],
  groupNormRewritten: 0,
  fp16Initializers: 0,
  keptFp32Nodes: 0,
  posEmbedCropped: false,
  splitsRewritten: 0,
});

class Names {
  private readonly used = new Set<string>();
  private readonly nodeNames = new Set<string>();
  add(name: string): void {
    if (name) this.used.add(name);
  }
  fresh(base: string): string {
    let name = base;
    for (let i = 1; this.used.has(name); i++) name = `${base}_${i}`;
    this.used.add(name);
    return name;
  }
  addNode(name: string | null | undefined): void {
    if (name) this.nodeNames.add(name);
  }
  freshNode(base: string): string {
    let name = base;
    for (let i = 1; this.nodeNames.has(name); i++) name = `${base}_${i}`;
    this.nodeNames.add(name);
    return name;
  }
}

function cloneNode(n: INode): INode {
  return {
    name: n.name ?? undefined,
    opType: n.opType,
    domain: n.domain || undefined,
    input: [...(n.input ?? [])],
    output: [...(n.output ?? [])],
    attribute: [...(n.attribute ?? [])],
    docString: n.docString || undefined,
  };
}

const isDefaultDomain = (n: INode): boolean => !n.domain || n.domain === 'ai.onnx';

// ---------------------------------------------------------------------------------------------------

class Planner {
  readonly names = new Names();
  readonly inits = new Map<string, LogicalInit>();
  /** Inline TensorProtos of the source graph (for small constant reads). */
  readonly protos = new Map<string, ITensor>();
  nodes: INode[];
  readonly report = defaultReport();
  readonly graphInputs: IValueInfo[];
  readonly graphOutputs: IValueInfo[];
  readonly opset: number;
  readonly blockSize: number;

  constructor(
    readonly model: ModelProto,
    readonly tensors: Map<string, SourceTensorInfo>,
    readonly options: PlanOptions,
  ) {
    const graph = model.graph;
    if (!graph) throw new PlanError('the model has no graph');
    const ai = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
    if (!ai) throw new PlanError('the model imports no ai.onnx opset');
    this.opset = num(ai.version as LongLike);
    if (this.opset < 13) throw new PlanError(`ai.onnx opset ${this.opset} is too old (need ≥ 13; exports use 17–18)`);
    this.blockSize = options.blockSize ?? 32;
    if (this.blockSize < 16 || this.blockSize & (this.blockSize - 1)) throw new PlanError(`blockSize must be a power of two ≥ 16, got ${this.blockSize}`);
    this.graphInputs = [...(graph.input ?? [])];
    this.graphOutputs = [...(graph.output ?? [])];
    this.nodes = (graph.node ?? []).map(cloneNode);
    for (const v of this.graphInputs) this.names.add(v.name ?? '');
    for (const v of this.graphOutputs) this.names.add(v.name ?? '');
    for (const n of this.nodes) {
      for (const o of n.output ?? []) this.names.add(o);
      this.names.addNode(n.name);
      for (const a of n.attribute ?? []) {
        if (a.g || a.graphs?.length) throw new PlanError(`node ${n.name || n.opType} (${n.opType}) has a subgraph; control flow is not supported`);
      }
    }
    for (const t of graph.initializer ?? []) {
      const name = t.name ?? '';
      if (!name) throw new PlanError('an initializer has no name');
      this.names.add(name);
      this.protos.set(name, t);
      const info = tensors.get(name);
      const dims = info ? [...info.dims] : (t.dims ?? []).map((d) => num(d as LongLike));
      const type = info ? info.dataType : (t.dataType ?? 0);
      this.inits.set(name, { name, dims, type, kind: isFloat(type) ? 'float' : 'other', source: name });
    }
    // graph inputs that shadow initializers (old IR): the input wins, drop the default value
    for (const v of this.graphInputs) this.inits.delete(v.name ?? '');
  }

  node(opType: string, inputs: string[], outputs: string[], attrs: IAttr[] = [], domain?: string, base?: string): INode {
    return {
      name: this.names.freshNode(base ?? opType),
      opType,
      domain,
      input: inputs,
      output: outputs,
      attribute: attrs,
    };
  }

  /** A new int64 literal initializer. */
  int64(base: string, values: number[], dims: number[] = [values.length]): string {
    const name = this.names.fresh(base);
    this.inits.set(name, { name, dims, type: DT.INT64, kind: 'literal', bytes: bytesOf(BigInt64Array.from(values.map(BigInt))) });
    return name;
  }

  /** A new float literal initializer whose final type follows `typeOf`. */
  floats(base: string, values: number[], dims: number[], typeOf: string): string {
    const name = this.names.fresh(base);
    this.inits.set(name, { name, dims, type: DT.FLOAT, kind: 'literal', values: Float32Array.from(values), typeOf });
    return name;
  }

  consumers(): Map<string, number> {
    const uses = new Map<string, number>();
    for (const n of this.nodes) for (const i of n.input ?? []) if (i) uses.set(i, (uses.get(i) ?? 0) + 1);
    for (const o of this.graphOutputs) uses.set(o.name ?? '', (uses.get(o.name ?? '') ?? 0) + 1);
    return uses;
  }

  // ---- pass 1: Gemm → MatMul (+ Add) ----------------------------------------------------------------
  gemmPass(): void {
    const uses = this.consumers();
    const out: INode[] = [];
    for (const n of this.nodes) {
      if (n.opType !== 'Gemm' || !isDefaultDomain(n)) {
        out.push(n);
        continue;
      }
      const [a, b, c] = n.input ?? [];
      const w = b ? this.inits.get(b) : undefined;
      const ok =
        attrFloat(n, 'alpha', 1) === 1 &&
        attrFloat(n, 'beta', 1) === 1 &&
        attrInt(n, 'transA', 0) === 0 &&
        a &&
        w &&
        w.kind === 'float' &&
        w.dims.length === 2 &&
        !w.crop;
      if (!ok) {
        out.push(n);
        continue;
      }
      let weight = b!;
      if (attrInt(n, 'transB', 0) === 1) {
        if ((uses.get(b!) ?? 0) === 1) {
          w!.dims = [w!.dims[1]!, w!.dims[0]!];
          w!.transposed = !w!.transposed;
        } else {
          weight = this.names.fresh(`${b}_transposed`);
          this.inits.set(weight, { ...w!, name: weight, dims: [w!.dims[1]!, w!.dims[0]!], transposed: !w!.transposed });
        }
      }
      const y = n.output![0]!;
      const base = n.name || 'Gemm';
      if (c) {
        const mm = this.names.fresh(`${y}_matmul`);
        out.push(this.node('MatMul', [a!, weight], [mm], [], undefined, `${base}_MatMul`));
        out.push(this.node('Add', [mm, c], [y], [], undefined, `${base}_Add`));
      } else {
        out.push(this.node('MatMul', [a!, weight], [y], [], undefined, `${base}_MatMul`));
      }
      this.report.gemmToMatMul++;
    }
    this.nodes = out;
  }

  // ---- pass 2: GroupNormalization / com.microsoft GroupNorm → InstanceNormalization form ---------------
  groupNormPass(): void {
    const out: INode[] = [];
    for (const n of this.nodes) {
      const onnxGn = n.opType === 'GroupNormalization' && isDefaultDomain(n);
      const msGn = n.opType === 'GroupNorm' && n.domain === 'com.microsoft';
      if (!onnxGn && !msGn) {
        out.push(n);
        continue;
      }
      const where = `${n.opType} node ${n.name || '(unnamed)'}`;
      const [x, gamma, beta] = n.input ?? [];
      if (!x || !gamma || !beta) throw new PlanError(`${where}: needs X, scale and bias inputs`);
      const G = onnxGn ? attrInt(n, 'num_groups', 0) : attrInt(n, 'groups', 0);
      if (G < 1) throw new PlanError(`${where}: missing group count`);
      const eps = attrFloat(n, 'epsilon', 1e-5);
      const y = n.output![0]!;
      const base = n.name || n.opType;
      const nhwc = msGn && attrInt(n, 'channels_last', 1) === 1;
      const silu = msGn && attrInt(n, 'activation', 0) === 1;
      const emit = (node: INode): void => void out.push(node);
      const t = (s: string): string => this.names.fresh(`${y}_${s}`);

      let xin = x;
      if (nhwc) {
        xin = t('nchw');
        emit(this.node('Transpose', [x], [xin], [intsAttr('perm', [0, 3, 1, 2])], undefined, `${base}_ToNCHW`));
      }
      const shape = t('shape');
      emit(this.node('Shape', [xin], [shape], [], undefined, `${base}_Shape`));
      const grouped = t('grouped');
      emit(this.node('Reshape', [xin, this.int64(`${base}_group_shape`, [0, G, -1])], [grouped], [], undefined, `${base}_Group`));
      const normed = t('instnorm');
      let result: string;
      if (onnxGn && this.opset < 21) {
        // opset 18–20: scale and bias are per group [G] → they are InstanceNormalization's own scale/bias
        this.checkDims(gamma, [G], where);
        this.checkDims(beta, [G], where);
        emit(this.node('InstanceNormalization', [grouped, gamma, beta], [normed], [floatAttr('epsilon', eps)], undefined, `${base}_InstanceNorm`));
        result = this.names.fresh(`${y}_ungrouped`);
        emit(this.node('Reshape', [normed, shape], [result], [], undefined, `${base}_Ungroup`));
      } else {
        const ones = this.floats(`${base}_ones`, new Array<number>(G).fill(1), [G], x);
        const zeros = this.floats(`${base}_zeros`, new Array<number>(G).fill(0), [G], x);
        emit(this.node('InstanceNormalization', [grouped, ones, zeros], [normed], [floatAttr('epsilon', eps)], undefined, `${base}_InstanceNorm`));
        const g = this.inits.get(gamma);
        const C = g && g.dims.length === 1 ? g.dims[0]! : -1;
        if (C < 1 || C % G) throw new PlanError(`${where}: scale must be a constant 1-D initializer of C channels (C divisible by ${G})`);
        const perChannel = t('channels');
        emit(this.node('Reshape', [normed, this.int64(`${base}_channel_shape`, [0, C, -1])], [perChannel], [], undefined, `${base}_Channels`));
        const g2 = this.columnVector(gamma, C, x, where);
        const b2 = this.columnVector(beta, C, x, where);
        const scaled = t('scaled');
        emit(this.node('Mul', [perChannel, g2], [scaled], [], undefined, `${base}_Scale`));
        const shifted = t('shifted');
        emit(this.node('Add', [scaled, b2], [shifted], [], undefined, `${base}_Shift`));
        result = t('ungrouped');
        emit(this.node('Reshape', [shifted, shape], [result], [], undefined, `${base}_Ungroup`));
      }
      if (silu) {
        const sig = t('sigmoid');
        emit(this.node('Sigmoid', [result], [sig], [], undefined, `${base}_Sigmoid`));
        const act = t('silu');
        emit(this.node('Mul', [result, sig], [act], [], undefined, `${base}_SiLU`));
        result = act;
      }
      if (nhwc) {
        const back = t('nhwc');
        emit(this.node('Transpose', [result], [back], [intsAttr('perm', [0, 2, 3, 1])], undefined, `${base}_ToNHWC`));
        result = back;
      }
      // the last node writes the original output name
      const last = out[out.length - 1]!;
      last.output = [y];
      this.report.groupNormRewritten++;
    }
    this.nodes = out;
  }

  private checkDims(name: string, dims: number[], where: string): void {
    const i = this.inits.get(name);
    if (i && (i.dims.length !== dims.length || i.dims.some((d, k) => d !== dims[k]))) {
      throw new PlanError(`${where}: ${name} has shape [${i.dims}], expected [${dims}] (opset ${this.opset} per-group scale/bias)`);
    }
  }

  /** A per-channel [C] initializer as a [C, 1] initializer of the same bytes (element type follows `x`). */
  private columnVector(name: string, C: number, x: string, where: string): string {
    const i = this.inits.get(name);
    if (!i || i.kind !== 'float' || i.dims.length !== 1 || i.dims[0] !== C) {
      throw new PlanError(`${where}: ${name} must be a constant float initializer of shape [${C}]`);
    }
    const col = this.names.fresh(`${name}_column`);
    this.inits.set(col, { ...i, name: col, dims: [C, 1], typeOf: x });
    return col;
  }

  // ---- pass 3: pos-embed crop ------------------------------------------------------------------------
  cropPass(m: number): void {
    if (!Number.isInteger(m) || m < 1) throw new PlanError(`cropPosEmbedTo must be a positive integer, got ${m}`);
    const candidates = [...this.inits.values()].filter(
      (i) => i.kind === 'float' && /pos_embed/.test(i.name) && !/proj/.test(i.name) && (i.dims.length === 3),
    );
    if (candidates.length !== 1) {
      throw new PlanError(
        candidates.length
          ? `cropPosEmbedTo: several position tables (${candidates.map((c) => c.name).join(', ')}); cannot tell which to crop`
          : 'cropPosEmbedTo: no pos_embed initializer of shape [1, M·M, D] or [M, M, D] in this graph',
      );
    }
    const table = candidates[0]!;
    const [d0, d1, D] = table.dims as [number, number, number];
    let M: number;
    if (d0 === 1) {
      M = Math.round(Math.sqrt(d1));
      if (M * M !== d1) throw new PlanError(`cropPosEmbedTo: ${table.name} [1, ${d1}, ${D}] is not a square grid`);
    } else if (d0 === d1) M = d0;
    else throw new PlanError(`cropPosEmbedTo: ${table.name} has shape [${table.dims}], expected [1, M·M, D] or [M, M, D]`);
    if (m > M) throw new PlanError(`cropPosEmbedTo ${m} is larger than the table ${table.name} (${M})`);
    if ((M - m) % 2) throw new PlanError(`cropPosEmbedTo ${m}: M − m must be even (M = ${M}) so the centre crop stays aligned`);
    if (m === M) return;

    const producers = new Map<string, INode>();
    for (const n of this.nodes) for (const o of n.output ?? []) producers.set(o, n);
    const consumersOf = (t: string): INode[] => this.nodes.filter((n) => (n.input ?? []).includes(t));
    const refuse = (why: string): never => {
      throw new PlanError(`cropPosEmbedTo: the crop of ${table.name} is not a recognised pattern (${why}); refusing to guess`);
    };
    // forward from the table through Reshape / Identity / Cast to the Slice that crops it
    let cur = table.name;
    const shapeInputs: { node: INode; index: number }[] = [];
    let slice: INode | null = null;
    for (let hops = 0; hops < 4 && !slice; hops++) {
      const cs = consumersOf(cur);
      if (cs.length !== 1) refuse(`${cur} has ${cs.length} consumers`);
      const c = cs[0]!;
      if (c.opType === 'Slice' && c.input?.[0] === cur) slice = c;
      else if (c.opType === 'Reshape' && c.input?.[0] === cur) {
        shapeInputs.push({ node: c, index: 1 });
        cur = c.output![0]!;
      } else if ((c.opType === 'Identity' || c.opType === 'Cast') && c.input?.[0] === cur) cur = c.output![0]!;
      else refuse(`${cur} feeds ${c.opType}`);
    }
    if (!slice) refuse('no Slice found after the table');
    // the cone of int constants behind the Slice's starts / ends and the Reshape shapes
    const targets: { node: INode; index: number }[] = [...shapeInputs, { node: slice!, index: 1 }, { node: slice!, index: 2 }];
    let replaced = 0;
    /** original producer → its crop-specific clone (null: nothing behind it holds M) */
    const clones = new Map<INode, INode | null>();
    const rewriteInput = (node: INode, index: number, depth: number): void => {
      const t = node.input?.[index];
      if (!t) return;
      if (depth > 16) refuse('constant cone too deep');
      const init = this.inits.get(t);
      const proto = this.protos.get(t);
      if (init) {
        if (init.kind === 'float' || !proto) return;
        const values = readInlineInts(proto);
        if (!values) refuse(`int constant ${t} is not inline`);
        if (!values!.includes(M)) return;
        node.input![index] = this.int64(`${t}_crop${m}`, values!.map((v) => (v === M ? m : v)), init.dims);
        replaced++;
        return;
      }
      const p = producers.get(t);
      if (!p) return; // a graph input
      if (p.opType === 'Constant') {
        const v = attr(p, 'value');
        const values = v?.t ? readInlineInts(v.t) : null;
        if (!values || !values.includes(M)) return;
        const dims = (v!.t!.dims ?? []).map((d) => num(d as LongLike));
        node.input![index] = this.int64(`${t}_crop${m}`, values.map((x) => (x === M ? m : x)), dims);
        replaced++;
        return;
      }
      if (p.opType === 'Shape') return; // run-time shapes (of the latents, or of the cropped table itself)
      let clone = clones.get(p);
      if (clone === undefined) {
        // clone the producer so that int subgraphs shared with other users stay untouched
        const c = cloneNode(p);
        c.name = this.names.freshNode(`${p.name || p.opType}_crop`);
        c.output = (p.output ?? []).map((o) => (o ? this.names.fresh(`${o}_crop${m}`) : o));
        const before = replaced;
        for (let i = 0; i < (c.input ?? []).length; i++) rewriteInput(c, i, depth + 1);
        const changed = replaced > before || (c.input ?? []).some((i, k) => i !== p.input?.[k]);
        clone = changed ? c : null;
        clones.set(p, clone);
        if (clone) this.nodes.splice(this.nodes.indexOf(p) + 1, 0, clone);
      }
      if (clone) node.input![index] = clone.output![(p.output ?? []).indexOf(t)]!;
    };
    for (const { node, index } of targets) rewriteInput(node, index, 0);
    if (!replaced) refuse(`no int64 constant holding the table size ${M} feeds the crop`);
    table.crop = { from: M, to: m, dim: D };
    table.dims = d0 === 1 ? [1, m * m, D] : [m, m, D];
    this.report.posEmbedCropped = true;
  }

  // ---- pass: wide Split → two levels of Splits ---------------------------------------------------------
  /**
   * WebGPU binds a Split's input and every output as storage buffers, and a device without raised
   * limits allows 8 per shader stage. SD3.5's MMDiT-X blocks chunk their AdaLN modulation 9 ways, so
   * such a device cannot run them (onnxruntime-web's JSEP only logs the error and returns stale data).
   * Any Split with more than MAX_SPLIT_OUTPUTS outputs becomes a Split into groups, then a Split of
   * each group: same values, at most 7 outputs per node. Sizes come from a constant `split` input, or
   * from `num_outputs` when the count factors into two parts of at most 7 (9 = 3 × 3).
   */
  splitPass(): void {
    const MAX = MAX_SPLIT_OUTPUTS;
    const out: INode[] = [];
    for (const n of this.nodes) {
      const outputs = [...(n.output ?? [])];
      const k = outputs.length;
      if (n.opType !== 'Split' || !isDefaultDomain(n) || k <= MAX) {
        out.push(n);
        continue;
      }
      const label = n.name || outputs[0] || 'Split';
      const axisAttrs = [intAttr('axis', attrInt(n, 'axis', 0))];
      const x = n.input?.[0] ?? '';
      const sizesName = n.input?.[1];
      const proto = sizesName ? this.protos.get(sizesName) : undefined;
      const sizes = proto ? readInlineInts(proto) : null;
      if (sizesName && (!sizes || sizes.length !== k)) {
        throw new PlanError(`Split ${label} has ${k} outputs but its sizes "${sizesName}" are not a constant of ${k} values; cannot make it fit WebGPU's 8 buffers per stage`);
      }
      const rebuild = (groups: number[][], stage1: (groupOutputs: string[]) => INode, stage2: (g: number[], input: string) => INode) => {
        const groupOutputs = groups.map((g) => (g.length === 1 ? outputs[g[0]!]! : this.names.fresh(`${label}_group`)));
        out.push(stage1(groupOutputs));
        groups.forEach((g, i) => {
          if (g.length > 1) out.push(stage2(g, groupOutputs[i]!));
        });
      };
      if (sizes) {
        const groups: number[][] = [];
        for (let i = 0; i < k; i += MAX) groups.push(Array.from({ length: Math.min(MAX, k - i) }, (_, j) => i + j));
        if (groups.length > MAX) throw new PlanError(`Split ${label} has ${k} outputs; at most ${MAX * MAX} can be rewritten`);
        rebuild(
          groups,
          (go) => this.node('Split', [x, this.int64(`${label}_group_sizes`, groups.map((g) => g.reduce((s, i) => s + sizes[i]!, 0)))], go, axisAttrs, undefined, label),
          (g, input) => this.node('Split', [input, this.int64(`${label}_sizes`, g.map((i) => sizes[i]!))], g.map((i) => outputs[i]!), axisAttrs, undefined, label),
        );
      } else {
        const a = [...Array(MAX).keys()].map((i) => MAX - i).find((d) => d > 1 && k % d === 0 && k / d <= MAX);
        if (!a) throw new PlanError(`Split ${label} has ${k} equal outputs (num_outputs), which cannot be grouped into at most ${MAX} × ${MAX}`);
        const b = k / a;
        const groups = Array.from({ length: a }, (_, gi) => Array.from({ length: b }, (_, j) => gi * b + j));
        rebuild(
          groups,
          (go) => this.node('Split', [x], go, [...axisAttrs, intAttr('num_outputs', a)], undefined, label),
          (g, input) => this.node('Split', [input], g.map((i) => outputs[i]!), [...axisAttrs, intAttr('num_outputs', b)], undefined, label),
        );
      }
      this.report.splitsRewritten++;
    }
    this.nodes = out;
  }

  // ---- pass 4: MatMul → MatMulNBits -----------------------------------------------------------------
  quantizePass(): void {
    const keepFloat = (this.options.q4KeepFloat ?? DEFAULT_Q4_KEEP_FLOAT).map((p) => new RegExp(p));
    const done = new Map<string, { q: string; s: string; K: number; N: number }>();
    this.nodes = this.nodes.map((n) => {
      if (n.opType !== 'MatMul' || !isDefaultDomain(n)) return n;
      const [a, b] = n.input ?? [];
      const w = b ? this.inits.get(b) : undefined;
      if (!a || !w || w.kind !== 'float' || w.crop) return n;
      const label = n.name || n.output?.[0] || 'MatMul';
      const skip = (reason: string): INode => {
        this.report.matMulSkipped.push({ node: label, reason });
        return n;
      };
      const keep = keepFloat.find((r) => r.test(b!) || (n.name ? r.test(n.name) : false));
      if (keep) return skip(`kept in float by q4KeepFloat ${keep.source}`);
      if (w.dims.length !== 2) return skip(`weight ${b} has rank ${w.dims.length}, not 2`);
      const [K, N] = w.dims as [number, number];
      if (K < MIN_Q4_DIM || N < MIN_Q4_DIM) return skip(`weight ${b} [${K}, ${N}] is smaller than ${MIN_Q4_DIM} in K or N`);
      if (K % 2) return skip(`weight ${b}: K = ${K} is odd`);
      let q = done.get(b!);
      if (!q) {
        const qn = this.names.fresh(`${b}_Q4`);
        const sn = this.names.fresh(`${b}_scales`);
        const kBlocks = q4BlockCount(K, this.blockSize);
        const q4 = { K, N, blockSize: this.blockSize, transposed: !!w.transposed };
        this.inits.set(qn, { name: qn, dims: [N, kBlocks, this.blockSize / 2], type: DT.UINT8, kind: 'q4w', source: w.source!, q4 });
        this.inits.set(sn, { name: sn, dims: [N * kBlocks], type: w.type, kind: 'q4s', source: w.source!, q4, typeOf: a });
        q = { q: qn, s: sn, K, N };
        done.set(b!, q);
      }
      this.report.matMulQuantized++;
      return {
        name: n.name ? `${n.name}_Q4` : this.names.freshNode('MatMulNBits'),
        opType: 'MatMulNBits',
        domain: 'com.microsoft',
        input: [a, q.q, q.s],
        output: [...(n.output ?? [])],
        attribute: [intAttr('K', K), intAttr('N', N), intAttr('bits', 4), intAttr('block_size', this.blockSize)],
      };
    });
  }

  // ---- type inference -------------------------------------------------------------------------------
  inferTypes(): Map<string, number> {
    const T = new Map<string, number>();
    const vi = new Map<string, number>();
    for (const v of this.model.graph?.valueInfo ?? []) {
      const e = v.type?.tensorType?.elemType;
      if (v.name && e) vi.set(v.name, e);
    }
    for (const v of this.graphInputs) {
      const e = v.type?.tensorType?.elemType;
      if (v.name && e) T.set(v.name, e);
    }
    for (const i of this.inits.values()) if (!i.typeOf) T.set(i.name, i.type);
    const tensorType = (t: ITensor | null | undefined): number | undefined => t?.dataType ?? undefined;
    for (const n of this.nodes) {
      const ins = (n.input ?? []).map((i) => (i ? T.get(i) : undefined));
      const firstKnown = ins.find((t) => t !== undefined);
      const outs: (number | undefined)[] = [];
      const to = (t: number | undefined): number | undefined => (t && t !== 0 ? t : undefined);
      switch (n.opType) {
        case 'Cast':
          outs.push(attrInt(n, 'to', 0) || undefined);
          break;
        case 'CastLike':
          outs.push(ins[1]);
          break;
        case 'Shape':
        case 'Size':
        case 'NonZero':
        case 'ArgMax':
        case 'ArgMin':
          outs.push(DT.INT64);
          break;
        case 'Equal':
        case 'Less':
        case 'Greater':
        case 'LessOrEqual':
        case 'GreaterOrEqual':
        case 'Not':
        case 'And':
        case 'Or':
        case 'Xor':
        case 'IsNaN':
        case 'IsInf':
          outs.push(DT.BOOL);
          break;
        case 'ConstantOfShape':
          outs.push(tensorType(attr(n, 'value')?.t) ?? DT.FLOAT);
          break;
        case 'Constant': {
          const a0 = (n.attribute ?? [])[0];
          if (!a0) break;
          if (a0.name === 'value') outs.push(tensorType(a0.t));
          else if (a0.name === 'value_float' || a0.name === 'value_floats') outs.push(DT.FLOAT);
          else if (a0.name === 'value_int' || a0.name === 'value_ints') outs.push(DT.INT64);
          break;
        }
        case 'Where':
          outs.push(ins[1] ?? ins[2]);
          break;
        case 'TopK':
          outs.push(ins[0], DT.INT64);
          break;
        case 'EyeLike':
        case 'RandomNormalLike':
        case 'RandomUniformLike':
          outs.push(to(attrInt(n, 'dtype', 0)) ?? ins[0]);
          break;
        case 'RandomNormal':
        case 'RandomUniform':
          outs.push(to(attrInt(n, 'dtype', DT.FLOAT)));
          break;
        case 'DequantizeLinear':
          outs.push(ins[1]);
          break;
        case 'QuantizeLinear':
          outs.push(ins[2] ?? DT.UINT8);
          break;
        case 'MatMulInteger':
        case 'ConvInteger':
          outs.push(DT.INT32);
          break;
        case 'DynamicQuantizeLinear':
          outs.push(DT.UINT8, DT.FLOAT, DT.UINT8);
          break;
        default:
          break;
      }
      (n.output ?? []).forEach((o, k) => {
        if (!o) return;
        const t = vi.get(o) ?? (k < outs.length ? outs[k] : firstKnown);
        if (t) T.set(o, t);
      });
    }
    // typeOf initializers (GroupNorm literals, q4 scales) take the type of the tensor they follow
    for (const i of this.inits.values()) {
      if (i.typeOf) {
        const t = T.get(i.typeOf);
        i.type = t && isFloat(t) ? t : DT.FLOAT;
        T.set(i.name, i.type);
      }
    }
    return T;
  }

  // ---- fp32 islands ---------------------------------------------------------------------------------
  keptNodes(T: Map<string, number>): Set<INode> {
    const kept = new Set<INode>();
    const opTypes = new Set(this.options.keepFp32OpTypes ?? DEFAULT_KEEP_FP32_OP_TYPES);
    const names = new Set(this.options.keepFp32NodeNames ?? []);
    for (const n of this.nodes) if (opTypes.has(n.opType ?? '') || (n.name && names.has(n.name))) kept.add(n);

    const producer = new Map<string, INode>();
    for (const n of this.nodes) for (const o of n.output ?? []) producer.set(o, n);
    const consumers = new Map<string, INode[]>();
    for (const n of this.nodes) for (const i of n.input ?? []) if (i) consumers.set(i, [...(consumers.get(i) ?? []), n]);
    const isConst = (t: string): boolean => this.inits.has(t) || producer.get(t)?.opType === 'Constant';
    const constFloat = (t: string): number | null => {
      const p = this.protos.get(t);
      const c = producer.get(t);
      const tensor = p ?? (c?.opType === 'Constant' ? attr(c, 'value')?.t : undefined);
      if (tensor) {
        const v = readInlineFloats(tensor);
        return v && v.length === 1 ? v[0]! : null;
      }
      const vf = c ? attr(c, 'value_float') : undefined;
      return vf ? (vf.f ?? null) : null;
    };

    // (a) normalization statistics: square → ReduceMean → (Add ε | Sqrt | Reciprocal | Pow | Div(c, ·) | Max | Clip)*
    for (const r of this.nodes) {
      if (r.opType !== 'ReduceMean') continue;
      const sq = producer.get(r.input?.[0] ?? '');
      if (!sq) continue;
      const isSquare =
        (sq.opType === 'Pow' && constFloat(sq.input?.[1] ?? '') === 2) ||
        (sq.opType === 'Mul' && sq.input?.[0] && sq.input[0] === sq.input[1]);
      if (!isSquare) continue;
      kept.add(sq);
      kept.add(r);
      let frontier = [r];
      for (let depth = 0; depth < 6 && frontier.length; depth++) {
        const next: INode[] = [];
        for (const f of frontier) {
          for (const c of consumers.get(f.output?.[0] ?? '') ?? []) {
            const others = (c.input ?? []).filter((i) => i && i !== f.output?.[0]);
            const chain =
              ['Add', 'Sqrt', 'Reciprocal', 'Pow', 'Max', 'Clip'].includes(c.opType ?? '') ||
              (c.opType === 'Div' && c.input?.[1] === f.output?.[0]) && isConst(c.input?.[0] ?? '');
            if (chain && others.every(isConst) && !kept.has(c)) {
              kept.add(c);
              next.push(c);
            }
          }
        }
        frontier = next;
      }
    }

    // (b) integer-derived index math: Cast(float → int) whose float cone starts at Cast(int → float) + constants
    for (const end of this.nodes) {
      if (end.opType !== 'Cast' || isFloat(attrInt(end, 'to', 0)) || !isFloat(T.get(end.input?.[0] ?? ''))) continue;
      const cone = new Set<INode>([end]);
      let ok = true;
      let sawIntCast = false;
      const stack = [end.input![0]!];
      const seen = new Set<string>();
      while (stack.length && ok) {
        const t = stack.pop()!;
        if (seen.has(t)) continue;
        seen.add(t);
        if (!isFloat(T.get(t))) continue; // integer / bool inputs are fine
        if (isConst(t)) continue;
        const p = producer.get(t);
        if (!p) {
          ok = false; // a float graph input: real data, not index math
          break;
        }
        cone.add(p);
        if (cone.size > 64) ok = false;
        if (p.opType === 'Cast' && !isFloat(T.get(p.input?.[0] ?? ''))) {
          sawIntCast = true;
          continue;
        }
        for (const i of p.input ?? []) if (i) stack.push(i);
      }
      if (ok && sawIntCast) for (const c of cone) kept.add(c);
    }
    return kept;
  }

  // ---- pass 5: precision ----------------------------------------------------------------------------
  precisionPass(): { initNames: Map<string, Map<number, string>>; T: Map<string, number>; natural: Map<string, number> } {
    const half = this.options.variant === 'fp16' || this.options.variant === 'q4f16';
    const target = half ? DT.FLOAT16 : DT.FLOAT;
    const T = this.inferTypes();
    // a source whose float weights are mostly float16 is an fp16 export: its float32 tensors are deliberate
    let f16 = 0;
    let f32 = 0;
    for (const i of this.inits.values()) {
      const count = i.dims.reduce((a, d) => a * d, 1);
      if (i.type === DT.FLOAT16) f16 += count;
      else if (i.type === DT.FLOAT) f32 += count;
    }
    const sourceHalf = f16 > f32;
    const map = (t: number): number => (t === DT.FLOAT16 ? target : t === DT.FLOAT ? (sourceHalf ? DT.FLOAT : target) : t);
    const kept = half ? this.keptNodes(T) : new Set<INode>();
    this.report.keptFp32Nodes = kept.size;

    const producerIndex = new Map<string, number>();
    this.nodes.forEach((n, k) => (n.output ?? []).forEach((o) => o && producerIndex.set(o, k)));
    const graphOutputNames = new Set(this.graphOutputs.map((o) => o.name ?? ''));
    const graphInputNames = new Set(this.graphInputs.map((i) => i.name ?? ''));

    /** dtype held by the tensor's producer (before any cast) */
    const natural = new Map<string, number>();
    for (const i of graphInputNames) if (isFloat(T.get(i))) natural.set(i, DT.FLOAT);
    this.nodes.forEach((n) => {
      for (const o of n.output ?? []) {
        const t = T.get(o);
        if (o && isFloat(t)) natural.set(o, kept.has(n) ? DT.FLOAT : map(t!));
      }
    });
    /** graph outputs produced in another dtype: the producer writes an alias, a Cast writes the output name */
    const alias = new Map<string, string>();
    for (const o of graphOutputNames) {
      const nat = natural.get(o);
      if (nat !== undefined && nat !== DT.FLOAT && !graphInputNames.has(o)) alias.set(o, this.names.fresh(`${o}_${nat === DT.FLOAT16 ? 'fp16' : 'fp32'}`));
    }
    const castsAfter = new Map<number, INode[]>();
    const castCache = new Map<string, string>();
    const initRequests = new Map<string, Set<number>>();
    const suffix = (d: number): string => (d === DT.FLOAT16 ? 'fp16' : 'fp32');
    const holder = (t: string): string => alias.get(t) ?? t;

    const PLACEHOLDER = '\u0000init\u0000';
    const nameIn = (t: string, want: number): string => {
      const init = this.inits.get(t);
      if (init) {
        if (!isFloat(init.type) || init.kind === 'q4w' || (init.kind === 'literal' && init.bytes)) return t;
        const set = initRequests.get(t) ?? new Set<number>();
        set.add(want);
        initRequests.set(t, set);
        return `${PLACEHOLDER}${want}\u0000${t}`; // resolved once every request is known
      }
      const nat = natural.get(t);
      if (nat === undefined || nat === want) return holder(t);
      if (want === DT.FLOAT && alias.has(t)) return t; // the graph output itself is the float32 cast
      const key = `${t}|${want}`;
      let name = castCache.get(key);
      if (!name) {
        name = this.names.fresh(`${t}_${suffix(want)}`);
        castCache.set(key, name);
        const at = producerIndex.get(t) ?? -1;
        const list = castsAfter.get(at) ?? [];
        list.push(this.node('Cast', [holder(t)], [name], [intAttr('to', want)], undefined, `Cast_${suffix(want)}_${t}`));
        castsAfter.set(at, list);
      }
      return name;
    };

    const out: INode[] = [];
    const flush = (k: number): void => {
      for (const c of castsAfter.get(k) ?? []) out.push(c);
      castsAfter.delete(k);
    };
    const nodes = this.nodes;
    // casts of graph inputs / of aliased outputs are created lazily; do the node rewrite first, then order
    const rewritten = nodes.map((n) => {
      const k = kept.has(n);
      const want = (t: number): number => (k ? DT.FLOAT : map(t));
      const m = cloneNode(n);
      const slots = FP32_SLOTS[m.opType ?? ''] ?? [];
      m.input = (m.input ?? []).map((i, j) => {
        if (!i) return i;
        const t = T.get(i);
        if (!isFloat(t)) return i;
        return nameIn(i, slots.includes(j) && isDefaultDomain(m) ? DT.FLOAT : want(t!));
      });
      m.output = (m.output ?? []).map((o) => (o ? holder(o) : o));
      // attributes that create float data
      m.attribute = (m.attribute ?? []).map((a) => {
        const where = `node ${n.name || n.opType}`;
        if (m.opType === 'Cast' && a.name === 'to' && isFloat(num(a.i as LongLike))) return intAttr('to', want(num(a.i as LongLike)));
        if ((m.opType === 'ConstantOfShape' || m.opType === 'Constant') && a.name === 'value' && a.t && isFloat(a.t.dataType ?? 0)) {
          return { ...a, t: convertFloatTensor(a.t, want(a.t.dataType!), where) };
        }
        if (m.opType === 'Constant' && (a.name === 'value_float' || a.name === 'value_floats') && want(DT.FLOAT) !== DT.FLOAT) {
          const vals = a.name === 'value_float' ? [a.f ?? 0] : [...(a.floats ?? [])];
          const t: ITensor = { dims: a.name === 'value_float' ? [] : [vals.length], dataType: DT.FLOAT, floatData: vals };
          return { name: 'value', type: A.TENSOR, t: convertFloatTensor(t, DT.FLOAT16, where) };
        }
        if (/^(EyeLike|RandomNormal|RandomUniform|RandomNormalLike|RandomUniformLike)$/.test(m.opType ?? '') && a.name === 'dtype' && isFloat(num(a.i as LongLike))) {
          return intAttr('dtype', want(num(a.i as LongLike)));
        }
        return a;
      });
      return m;
    });
    // initializer names: a single dtype keeps the source name; with two, the non-primary one gets a suffix
    const initNames = new Map<string, Map<number, string>>();
    for (const [t, set] of initRequests) {
      const init = this.inits.get(t)!;
      const primary = set.size === 1 ? [...set][0]! : map(init.type);
      const names = new Map<number, string>();
      for (const d of set) names.set(d, d === primary ? t : this.names.fresh(`${t}_${suffix(d)}`));
      initNames.set(t, names);
    }
    const resolve = (i: string): string => {
      if (!i.startsWith(PLACEHOLDER)) return i;
      const [d, t] = i.slice(PLACEHOLDER.length).split('\u0000') as [string, string];
      return initNames.get(t)!.get(Number(d))!;
    };
    for (const n of rewritten) n.input = (n.input ?? []).map(resolve);
    // graph outputs: make sure a float32 tensor with the output name exists
    for (const o of graphOutputNames) {
      if (!alias.has(o)) {
        // produced in float32 already, or an initializer / graph input passed through
        if (this.inits.has(o) && isFloat(this.inits.get(o)!.type)) {
          throw new PlanError(`graph output ${o} is an initializer; not supported`);
        }
        continue;
      }
      const at = producerIndex.get(o) ?? -1;
      const list = castsAfter.get(at) ?? [];
      list.push(this.node('Cast', [alias.get(o)!], [o], [intAttr('to', DT.FLOAT)], undefined, `Cast_output_${o}`));
      castsAfter.set(at, list);
    }
    flush(-1);
    rewritten.forEach((n, k) => {
      out.push(n);
      flush(k);
    });
    this.nodes = out;

    // graph inputs / outputs are float32
    const retype = (v: IValueInfo): IValueInfo => {
      const e = v.type?.tensorType?.elemType;
      if (!isFloat(e ?? 0) || e === DT.FLOAT) return v;
      return { ...v, type: { ...v.type, tensorType: { ...v.type!.tensorType, elemType: DT.FLOAT } } };
    };
    this.graphInputs.splice(0, this.graphInputs.length, ...this.graphInputs.map(retype));
    this.graphOutputs.splice(0, this.graphOutputs.length, ...this.graphOutputs.map(retype));
    for (const [o, a] of alias) natural.set(a, natural.get(o)!), natural.set(o, DT.FLOAT);
    return { initNames, T, natural };
  }

  // ---- assembly -------------------------------------------------------------------------------------
  assemble(initNames: Map<string, Map<number, string>>, natural: Map<string, number>): ConversionPlan {
    const half = this.options.variant === 'fp16' || this.options.variant === 'q4f16';
    const target = half ? DT.FLOAT16 : DT.FLOAT;
    const referenced = new Set<string>();
    for (const n of this.nodes) for (const i of n.input ?? []) if (i) referenced.add(i);
    for (const o of this.graphOutputs) referenced.add(o.name ?? '');

    const initializers: PlannedInitializer[] = [];
    const dtypeName = (d: number): 'float32' | 'float16' => (d === DT.FLOAT16 ? 'float16' : 'float32');
    const recipeFor = (i: LogicalInit, d: number): TensorRecipe => {
      const src = i.source!;
      switch (i.kind) {
        case 'q4w':
          return { kind: 'q4-weight', source: src, transposed: i.q4!.transposed, K: i.q4!.K, N: i.q4!.N, blockSize: i.q4!.blockSize };
        case 'q4s':
          return { kind: 'q4-scales', source: src, ...i.q4!, dtype: dtypeName(d) };
        case 'literal': {
          if (i.bytes) return { kind: 'literal', bytes: i.bytes };
          const v = i.values!;
          return { kind: 'literal', bytes: d === DT.FLOAT16 ? bytesOf(float32ArrayToFloat16(v)) : bytesOf(new Float32Array(v)) };
        }
        case 'other':
          return { kind: 'copy', source: src };
        case 'float':
          if (i.crop) return { kind: 'crop-pos-embed', source: src, ...i.crop, dtype: dtypeName(d) };
          if (i.transposed) return { kind: 'transpose-2d', source: src, dtype: dtypeName(d) };
          return d === DT.FLOAT16 ? { kind: 'to-fp16', source: src } : { kind: 'to-fp32', source: src };
      }
    };
    for (const i of this.inits.values()) {
      const names = initNames.get(i.name);
      if (names) {
        for (const [d, name] of names) initializers.push({ name, dims: i.dims, dataType: d, recipe: recipeFor(i, d) });
      } else if (referenced.has(i.name)) {
        const d = isFloat(i.type) && i.kind !== 'q4w' && !i.bytes ? target : i.type;
        initializers.push({ name: i.name, dims: i.dims, dataType: d, recipe: recipeFor(i, d) });
      }
    }
    this.report.fp16Initializers = initializers.filter((p) => p.dataType === DT.FLOAT16).length;

    const model = this.buildModel(natural);
    validatePlannedModel(model, initializers);
    return { model, initializers, report: this.report };
  }

  buildModel(natural: Map<string, number>): ModelProto {
    const graph = this.model.graph!;
    const present = new Set<string>();
    for (const n of this.nodes) for (const o of n.output ?? []) if (o) present.add(o);
    const valueInfo = (graph.valueInfo ?? [])
      .filter((v) => v.name && present.has(v.name))
      .map((v) => {
        const e = v.type?.tensorType?.elemType;
        const nat = natural.get(v.name!);
        if (!isFloat(e ?? 0) || nat === undefined || nat === e) return v;
        return { ...v, type: { ...v.type, tensorType: { ...v.type!.tensorType, elemType: nat } } };
      });
    const usesMs = this.nodes.some((n) => n.domain === 'com.microsoft');
    const opsetImport = (this.model.opsetImport ?? []).filter((o) => o.domain !== 'com.microsoft' || usesMs);
    if (usesMs && !opsetImport.some((o) => o.domain === 'com.microsoft')) opsetImport.push({ domain: 'com.microsoft', version: 1 });
    return {
      irVersion: this.model.irVersion,
      producerName: 'webdiffusion-convert',
      producerVersion: '1',
      domain: this.model.domain,
      modelVersion: this.model.modelVersion,
      docString: this.model.docString,
      metadataProps: this.model.metadataProps,
      opsetImport,
      graph: {
        name: graph.name,
        docString: graph.docString,
        node: this.nodes,
        input: this.graphInputs,
        output: this.graphOutputs,
        initializer: [],
        valueInfo,
      },
    };
  }
}

/**
 * Plans the conversion of one component graph to one variant. `tensors` describes the source
 * initializers (missing entries fall back to the TensorProto metadata in the graph).
 */
export function planConversion(model: ModelProto, tensors: Map<string, SourceTensorInfo>, options: PlanOptions): ConversionPlan {
  const p = new Planner(model, tensors, options);
  p.gemmPass();
  p.groupNormPass();
  p.splitPass();
  if (options.cropPosEmbedTo != null) p.cropPass(options.cropPosEmbedTo);
  if (options.variant === 'q4' || options.variant === 'q4f16') p.quantizePass();
  const { initNames, natural } = p.precisionPass();
  return p.assemble(initNames, natural);
}

/**
 * Structural checks of a planned model: every node input is produced before use (graph input, planned
 * initializer, or an earlier node output), no tensor is produced twice, graph outputs exist, the
 * ai.onnx opset is imported (≥ 13) and com.microsoft (version 1) is imported exactly when used, and the
 * planned initializers have unique names and consistent byte sizes where known. Throws PlanError.
 */
export function validatePlannedModel(model: ModelProto, initializers: PlannedInitializer[]): void {
  const graph = model.graph;
  if (!graph) throw new PlanError('planned model has no graph');
  if (graph.initializer?.length) throw new PlanError('planned model must not carry initializers (the driver adds them)');
  const available = new Set<string>();
  for (const i of graph.input ?? []) available.add(i.name ?? '');
  for (const p of initializers) {
    if (available.has(p.name)) throw new PlanError(`initializer ${p.name} is planned twice or shadows a graph input`);
    available.add(p.name);
    const size = ELEMENT_SIZE[p.dataType];
    const count = p.dims.reduce((a, d) => a * d, 1);
    if (p.recipe.kind === 'literal' && size && p.recipe.bytes.byteLength !== count * size) {
      throw new PlanError(`literal initializer ${p.name}: ${p.recipe.bytes.byteLength} bytes for [${p.dims}] of type ${p.dataType}`);
    }
  }
  const produced = new Set<string>();
  for (const n of graph.node ?? []) {
    for (const i of n.input ?? []) {
      if (i && !available.has(i)) throw new PlanError(`node ${n.name || n.opType} (${n.opType}) reads ${i}, which nothing produces before it`);
    }
    for (const o of n.output ?? []) {
      if (!o) continue;
      if (produced.has(o) || available.has(o)) throw new PlanError(`tensor ${o} is produced twice (node ${n.name || n.opType})`);
      produced.add(o);
      available.add(o);
    }
  }
  for (const o of graph.output ?? []) if (!available.has(o.name ?? '')) throw new PlanError(`graph output ${o.name} is never produced`);
  const imports = model.opsetImport ?? [];
  const ai = imports.find((o) => !o.domain || o.domain === 'ai.onnx');
  if (!ai || num(ai.version as LongLike) < 13) throw new PlanError('planned model must import ai.onnx opset ≥ 13');
  const usesMs = (graph.node ?? []).some((n) => n.domain === 'com.microsoft');
  const ms = imports.find((o) => o.domain === 'com.microsoft');
  if (usesMs && (!ms || num(ms.version as LongLike) !== 1)) throw new PlanError('com.microsoft nodes need the com.microsoft opset import, version 1');
  for (const n of graph.node ?? []) {
    if (n.domain && n.domain !== 'ai.onnx' && !imports.some((o) => o.domain === n.domain)) {
      throw new PlanError(`node ${n.name || n.opType} uses domain ${n.domain}, which the model does not import`);
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// materialize

/** Source bytes (fp32 or fp16 per `dataType`) as float32 values. */
function toFloat32(bytes: Uint8Array, dataType: number, name: string): Float32Array {
  if (dataType === DT.FLOAT) return float32View(bytes);
  if (dataType === DT.FLOAT16) return float16ArrayToFloat32(uint16View(bytes));
  throw new PlanError(`source tensor ${name} has data type ${dataType}, not a float`);
}

function encode(values: Float32Array, dtype: 'float32' | 'float16'): Uint8Array {
  return dtype === 'float16' ? bytesOf(float32ArrayToFloat16(values)) : bytesOf(values);
}

const q4Cache = new WeakMap<ReadSourceTensor, { key: string; result: Q4Result }>();

/**
 * Computes one planned initializer's bytes. `read` returns a source tensor's raw bytes as stored; the
 * q4 weight and its scales share one quantization when materialized one after the other with the same
 * `read` (a one-entry cache per reader).
 */
export async function materialize(recipe: TensorRecipe, read: ReadSourceTensor, tensors: Map<string, SourceTensorInfo>): Promise<Uint8Array> {
  if (recipe.kind === 'literal') return recipe.bytes;
  const info = tensors.get(recipe.source);
  if (!info) throw new PlanError(`no metadata for source tensor ${recipe.source}`);
  const bytes = await read(recipe.source);
  const count = info.dims.reduce((a, d) => a * d, 1);
  const size = ELEMENT_SIZE[info.dataType];
  if (size && bytes.byteLength !== count * size) {
    throw new PlanError(`source tensor ${recipe.source}: ${bytes.byteLength} bytes, expected ${count * size} for [${info.dims}]`);
  }
  switch (recipe.kind) {
    case 'copy':
      return bytes;
    case 'to-fp32':
      return info.dataType === DT.FLOAT ? bytes : bytesOf(toFloat32(bytes, info.dataType, recipe.source));
    case 'to-fp16':
      return info.dataType === DT.FLOAT16 ? bytes : encode(toFloat32(bytes, info.dataType, recipe.source), 'float16');
    case 'transpose-2d': {
      if (info.dims.length !== 2) throw new PlanError(`transpose-2d: ${recipe.source} has shape [${info.dims}]`);
      const [R, C] = info.dims as [number, number];
      const src = toFloat32(bytes, info.dataType, recipe.source);
      const out = new Float32Array(R * C);
      for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) out[c * R + r] = src[r * C + c]!;
      return encode(out, recipe.dtype);
    }
    case 'q4-weight':
    case 'q4-scales': {
      const { K, N, blockSize, transposed } = recipe;
      const expect = transposed ? [N, K] : [K, N];
      if (info.dims.length !== 2 || info.dims[0] !== expect[0] || info.dims[1] !== expect[1]) {
        throw new PlanError(`${recipe.kind}: ${recipe.source} has shape [${info.dims}], expected [${expect}]`);
      }
      const key = `${recipe.source}|${K}|${N}|${blockSize}|${transposed}`;
      let cached = q4Cache.get(read);
      if (!cached || cached.key !== key) {
        const result = quantizeQ4(toFloat32(bytes, info.dataType, recipe.source), K, N, blockSize, transposed ? 'NK' : 'KN');
        cached = { key, result };
        q4Cache.set(read, cached);
      }
      return recipe.kind === 'q4-weight' ? cached.result.packed : encode(cached.result.scales, recipe.dtype);
    }
    case 'crop-pos-embed': {
      const { from: M, to: m, dim: D } = recipe;
      const d = info.dims;
      const okShape = d.length === 3 && d[2] === D && ((d[0] === 1 && d[1] === M * M) || (d[0] === M && d[1] === M));
      if (!okShape) throw new PlanError(`crop-pos-embed: ${recipe.source} has shape [${d}], expected [1, ${M * M}, ${D}] or [${M}, ${M}, ${D}]`);
      const src = toFloat32(bytes, info.dataType, recipe.source);
      const top = Math.floor((M - m) / 2);
      const out = new Float32Array(m * m * D);
      for (let r = 0; r < m; r++) {
        const from = ((top + r) * M + top) * D;
        out.set(src.subarray(from, from + m * D), r * m * D);
      }
      return encode(out, recipe.dtype);
    }
  }
}
