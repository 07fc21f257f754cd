/**
 * Static shapes: what a graph declares about its inputs (read from the .onnx bytes before a session
 * exists, so the names are the export's own), and the `freeDimensionOverrides` that pin its symbolic
 * axes for the shapes a run will feed. Pure apart from protobuf decoding.
 */
import onnxProto from 'onnx-proto';
import { WebDiffusionError } from '../errors.js';

const { onnx } = onnxProto;

export type DimSpec = number | string | null;

export interface GraphInput {
  name: string;
  /** Per axis: a fixed size, a symbolic name, or null (unnamed dynamic axis). */
  dims: DimSpec[];
}

export interface GraphDescription {
  inputs: GraphInput[];
  /**
   * Output channels of the Conv that reads `hidden_states` first (the transformer's patch embedding:
   * its hidden width), or null when there is none.
   */
  patchEmbedWidth: number | null;
}

export function describeGraph(model: Uint8Array, fileName = 'model.onnx'): GraphDescription {
  let decoded: onnxProto.onnx.ModelProto;
  try {
    decoded = onnx.ModelProto.decode(model);
  } catch (e) {
    throw new WebDiffusionError('MODEL_INVALID', `${fileName} is not a valid ONNX model.`, { details: { file: fileName }, cause: e });
  }
  const graph = decoded.graph;
  const initializers = new Set((graph?.initializer ?? []).map((t) => t.name));
  const inputs: GraphInput[] = (graph?.input ?? [])
    .filter((i) => !initializers.has(i.name ?? ''))
    .map((i) => ({
      name: i.name ?? '',
      dims: (i.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : d.dimValue != null && Number(d.dimValue) > 0 ? Number(d.dimValue) : null)),
    }));
  let patchEmbedWidth: number | null = null;
  const conv = graph?.node?.find((n) => n.opType === 'Conv' && n.input?.[0] === 'hidden_states');
  const weight = conv && graph?.initializer?.find((t) => t.name === conv.input?.[1]);
  if (weight?.dims?.length) patchEmbedWidth = Number(weight.dims[0]);
  return { inputs, patchEmbedWidth };
}

export interface OverrideResult {
  overrides: Record<string, number>;
  /** Symbolic axes that got two different sizes (left dynamic). */
  conflicts: string[];
}

/**
 * The symbolic dimension → size map that pins every named axis of the given inputs' shapes. An axis
 * name that two inputs would pin to different sizes is left free (and reported); inputs without a
 * given shape, or with another rank, pin nothing.
 */
export function freeDimensionOverrides(inputs: readonly GraphInput[], shapes: Readonly<Record<string, readonly number[]>>): OverrideResult {
  const overrides: Record<string, number> = {};
  const conflicts = new Set<string>();
  for (const input of inputs) {
    const shape = shapes[input.name];
    if (!shape || shape.length !== input.dims.length) continue;
    input.dims.forEach((d, k) => {
      if (typeof d !== 'string') return;
      const size = shape[k]!;
      if (d in overrides && overrides[d] !== size) conflicts.add(d);
      else overrides[d] = size;
    });
  }
  for (const c of conflicts) delete overrides[c];
  return { overrides, conflicts: [...conflicts].sort() };
}

/** A stable key for a set of overrides (sessions are re-created when it changes). */
export function overridesKey(o: Readonly<Record<string, number>>): string {
  return Object.keys(o)
    .sort()
    .map((k) => `${k}=${o[k]}`)
    .join(',');
}
