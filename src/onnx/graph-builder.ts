/**
 * A small typed layer over onnx-proto for writing ONNX graphs from TypeScript: named inputs and
 * outputs with symbolic (dynamic) axes, nodes with attributes, float32 initializers drawn from a
 * seeded generator, and serialisation with large initializers moved to an external-data file
 * exactly as onnx / optimum write it (location, offset, length entries; data_location EXTERNAL).
 */
import onnxProto from 'onnx-proto';
import { createRng, fillStandardNormal, type Rng } from '../diffusion/noise.js';

export const { onnx } = onnxProto;

export const DType = onnx.TensorProto.DataType;
export type DTypeCode = onnxProto.onnx.TensorProto.DataType;

export type Dim = number | string;
export type AttrValue = number | string | number[] | Float32Array | { floats: number[] } | { ints: number[] };

export interface SerializedModel {
  /** The .onnx protobuf bytes. */
  model: Uint8Array;
  /** Contents of the external-data file (empty when every tensor is inline). */
  externalData: Uint8Array;
}

export interface BuildOptions {
  /** File name recorded as `location` for external tensors, e.g. "model.onnx_data". */
  externalDataFile: string;
  /** Tensors with at least this many bytes go to external data (optimum uses 100 bytes; default 1024). */
  sizeThreshold?: number;
  /** ai.onnx opset version (default 18, as optimum's SD3 export). */
  opset?: number;
  producer?: string;
}

interface PendingInit {
  name: string;
  dims: number[];
  dataType: DTypeCode;
  bytes: Uint8Array;
}

function makeValueInfo(name: string, elemType: DTypeCode, dims: Dim[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function makeAttr(name: string, v: AttrValue): onnxProto.onnx.IAttributeProto {
  const A = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: A.STRING, s: new TextEncoder().encode(v) };
  if (typeof v === 'number') {
    return Number.isInteger(v) ? { name, type: A.INT, i: v } : { name, type: A.FLOAT, f: v };
  }
  if (v instanceof Float32Array) return { name, type: A.FLOATS, floats: Array.from(v) };
  if (Array.isArray(v)) return { name, type: A.INTS, ints: v };
  if ('floats' in v) return { name, type: A.FLOATS, floats: v.floats };
  return { name, type: A.INTS, ints: v.ints };
}

const bytesOf = (a: Float32Array | BigInt64Array | Int32Array): Uint8Array =>
  new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice();

export class GraphBuilder {
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly inputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly outputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly inits: PendingInit[] = [];
  private readonly names = new Set<string>();
  private counter = 0;
  readonly rng: Rng;
  private usesMsDomain = false;

  constructor(
    readonly graphName: string,
    seed: number,
  ) {
    this.rng = createRng(seed);
  }

  /** A fresh unique tensor name with a readable prefix. */
  fresh(prefix: string): string {
    let name: string;
    do name = `${prefix}_${this.counter++}`;
    while (this.names.has(name));
    this.names.add(name);
    return name;
  }

  private claim(name: string): string {
    if (this.names.has(name)) throw new Error(`duplicate tensor name ${name}`);
    this.names.add(name);
    return name;
  }

  input(name: string, elemType: DTypeCode, dims: Dim[]): string {
    this.inputs.push(makeValueInfo(this.claim(name), elemType, dims));
    return name;
  }

  /** Declares graph output `name` and routes `from` to it through Identity (unless already named so). */
  output(name: string, from: string, elemType: DTypeCode, dims: Dim[]): string {
    if (from !== name) {
      this.nodes.push({ opType: 'Identity', input: [from], output: [this.claim(name)], name: `out_${name}` });
    }
    this.outputs.push(makeValueInfo(name, elemType, dims));
    return name;
  }

  /** Adds a node with `outputs` outputs (fresh names) and returns their names. */
  nodeN(opType: string, inputs: string[], outputs: number, attrs: Record<string, AttrValue> = {}, domain = ''): string[] {
    const outNames = Array.from({ length: outputs }, () => this.fresh(opType.toLowerCase()));
    if (domain === 'com.microsoft') this.usesMsDomain = true;
    this.nodes.push({
      opType,
      domain: domain || undefined,
      input: inputs,
      output: outNames,
      name: this.fresh(`n_${opType}`),
      attribute: Object.entries(attrs).map(([k, v]) => makeAttr(k, v)),
    });
    return outNames;
  }

  /** Adds a single-output node whose output is the graph output `name` (no Identity in between). */
  opToOutput(opType: string, inputs: string[], name: string, elemType: DTypeCode, dims: Dim[], attrs: Record<string, AttrValue> = {}): string {
    this.nodes.push({
      opType,
      input: inputs,
      output: [this.claim(name)],
      name: this.fresh(`n_${opType}`),
      attribute: Object.entries(attrs).map(([k, v]) => makeAttr(k, v)),
    });
    this.outputs.push(makeValueInfo(name, elemType, dims));
    return name;
  }

  /** Adds a single-output node and returns its output name. */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, domain = ''): string {
    return this.nodeN(opType, inputs, 1, attrs, domain)[0]!;
  }

  /** A float32 initializer: values given, or drawn N(0, std²) from the builder's seeded generator. */
  weight(prefix: string, dims: number[], init: Float32Array | { std: number } | { fill: number }): string {
    const count = dims.reduce((a, b) => a * b, 1);
    let data: Float32Array;
    if (init instanceof Float32Array) {
      if (init.length !== count) throw new Error(`${prefix}: ${init.length} values for shape [${dims}]`);
      data = init;
    } else if ('std' in init) {
      data = fillStandardNormal(this.rng, new Float32Array(count));
      for (let i = 0; i < count; i++) data[i]! *= init.std;
    } else {
      data = new Float32Array(count).fill(init.fill);
    }
    const name = this.fresh(prefix);
    this.inits.push({ name, dims, dataType: DType.FLOAT, bytes: bytesOf(data) });
    return name;
  }

  /** An int64 constant initializer (shapes, axes, indices). */
  int64(values: number[], dims: number[] = [values.length]): string {
    const name = this.fresh('i64');
    this.inits.push({ name, dims, dataType: DType.INT64, bytes: bytesOf(BigInt64Array.from(values.map(BigInt))) });
    return name;
  }

  /** A float32 scalar or vector constant. */
  float(values: number[] | number, dims?: number[]): string {
    const arr = typeof values === 'number' ? [values] : values;
    const name = this.fresh('f32');
    const d = dims ?? (typeof values === 'number' ? [] : [arr.length]);
    this.inits.push({ name, dims: d, dataType: DType.FLOAT, bytes: bytesOf(Float32Array.from(arr)) });
    return name;
  }

  serialize(options: BuildOptions): SerializedModel {
    const threshold = options.sizeThreshold ?? 1024;
    const chunks: Uint8Array[] = [];
    let offset = 0;
    const initializer: onnxProto.onnx.ITensorProto[] = this.inits.map((t) => {
      if (t.bytes.byteLength < threshold) {
        return { name: t.name, dims: t.dims, dataType: t.dataType, rawData: t.bytes };
      }
      // onnx's save_model aligns each tensor in the external file to 4096 bytes when large; keep 64.
      const pad = (64 - (offset % 64)) % 64;
      if (pad) chunks.push(new Uint8Array(pad));
      offset += pad;
      const entry: onnxProto.onnx.ITensorProto = {
        name: t.name,
        dims: t.dims,
        dataType: t.dataType,
        dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
        externalData: [
          { key: 'location', value: options.externalDataFile },
          { key: 'offset', value: String(offset) },
          { key: 'length', value: String(t.bytes.byteLength) },
        ],
      };
      chunks.push(t.bytes);
      offset += t.bytes.byteLength;
      return entry;
    });
    const opsetImport: onnxProto.onnx.IOperatorSetIdProto[] = [{ domain: '', version: options.opset ?? 18 }];
    if (this.usesMsDomain) opsetImport.push({ domain: 'com.microsoft', version: 1 });
    const model = onnx.ModelProto.encode({
      irVersion: 8,
      producerName: options.producer ?? 'webdiffusion-fixtures',
      opsetImport,
      graph: { name: this.graphName, node: this.nodes, input: this.inputs, output: this.outputs, initializer },
    }).finish();
    const externalData = new Uint8Array(offset);
    let at = 0;
    for (const c of chunks) {
      externalData.set(c, at);
      at += c.byteLength;
    }
    return { model, externalData };
  }
}
