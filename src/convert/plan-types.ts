/**
 * The contract between the graph planner (what the output graph looks like, and how each output
 * initializer is computed from source tensors) and the converter driver (which reads source tensors
 * lazily, materializes output tensors one at a time and writes them into shards). Planning touches
 * graph structure and tensor metadata only, never tensor data, so memory does not grow with model size.
 */
import type onnxProto from 'onnx-proto';
import type { Variant } from '../protocol.js';

export type ModelProto = onnxProto.onnx.IModelProto;

/** A source initializer as known before its data is read (from the graph's TensorProto metadata). */
export interface SourceTensorInfo {
  name: string;
  dims: number[];
  /** onnx TensorProto.DataType (1 = FLOAT, 10 = FLOAT16, 7 = INT64, …). */
  dataType: number;
}

/** How to compute one output initializer's raw little-endian bytes from source tensors. */
export type TensorRecipe =
  /** The source bytes unchanged (any dtype). */
  | { kind: 'copy'; source: string }
  /** A float source (fp32 or fp16) written as float32. */
  | { kind: 'to-fp32'; source: string }
  /** A float source written as float16 (IEEE half, round to nearest even, saturating to ±65504). */
  | { kind: 'to-fp16'; source: string }
  /** A 2-D float source [R, C] written transposed [C, R] (Gemm transB=1 → MatMul), as fp32 or fp16. */
  | { kind: 'transpose-2d'; source: string; dtype: 'float32' | 'float16' }
  /**
   * com.microsoft MatMulNBits input B from a constant MatMul weight W [K, N] (or [N, K] when
   * `transposed`): uint8 [N, ceil(K / blockSize), blockSize / 2], 4-bit symmetric, zero point 8.
   */
  | { kind: 'q4-weight'; source: string; transposed: boolean; K: number; N: number; blockSize: number }
  /** MatMulNBits scales for the same weight: [N * ceil(K / blockSize)] in the given dtype. */
  | { kind: 'q4-scales'; source: string; transposed: boolean; K: number; N: number; blockSize: number; dtype: 'float32' | 'float16' }
  /** The centre crop of a [1, M*M, D] (or [M, M, D]) position table to [1, m*m, D]; written as float32 or float16. */
  | { kind: 'crop-pos-embed'; source: string; from: number; to: number; dim: number; dtype: 'float32' | 'float16' }
  /** New small tensors the planner made (shape constants, GroupNorm rewrite scales). */
  | { kind: 'literal'; bytes: Uint8Array };

export interface PlannedInitializer {
  name: string;
  dims: number[];
  dataType: number;
  recipe: TensorRecipe;
}

export interface PlanOptions {
  variant: Variant;
  /** MatMulNBits block size along K (default 32). */
  blockSize?: number;
  /** fp16 variants: op types whose computation stays in fp32 (Cast nodes around them). */
  keepFp32OpTypes?: string[];
  /** fp16 variants: node names that stay in fp32. */
  keepFp32NodeNames?: string[];
  /** Crop the transformer's pos_embed table to this many patches per side (contract §3.2); null keeps it. */
  cropPosEmbedTo?: number | null;
  /**
   * q4 variants: MatMuls kept in float (regex sources matched against the weight initializer name and the
   * node name). Default (plan.ts DEFAULT_Q4_KEEP_FLOAT): the transformer's embedders and proj_out.
   */
  q4KeepFloat?: string[];
}

export interface PlanReport {
  gemmToMatMul: number;
  matMulQuantized: number;
  /** MatMuls with a constant weight left unquantized, with the reason (K not a multiple of 2, …). */
  matMulSkipped: { node: string; reason: string }[];
  groupNormRewritten: number;
  fp16Initializers: number;
  keptFp32Nodes: number;
  posEmbedCropped: boolean;
  /** Splits with more than 7 outputs rewritten as two levels (WebGPU's 8 storage buffers per stage). */
  splitsRewritten: number;
}

export interface ConversionPlan {
  /** The output model; graph.initializer holds none: the driver adds them from `initializers`. */
  model: ModelProto;
  initializers: PlannedInitializer[];
  report: PlanReport;
}

/** Computes planned bytes; `read` returns a source tensor's raw bytes as stored (its dtype per SourceTensorInfo). */
export type ReadSourceTensor = (name: string) => Promise<Uint8Array>;
