/**
 * Which external-data files a graph refers to: read from the graph itself (each external
 * initializer's `location` entry), so that optimum (`model.onnx_data`), transformers.js shards
 * (`_data_1`, …) and Olive (`model.onnx.data`) layouts all load without guessing names.
 */
import onnxProto from 'onnx-proto';
import { WebDiffusionError } from '../errors.js';

const { onnx } = onnxProto;

export function externalDataLocations(model: Uint8Array, fileName = 'model.onnx'): string[] {
  let decoded: onnxProto.onnx.ModelProto;
  try {
    decoded = onnx.ModelProto.decode(model);
  } catch (e) {
    throw new WebDiffusionError('MODEL_INVALID', `${fileName} is not a valid ONNX model.`, { details: { file: fileName }, cause: e });
  }
  const locations = new Set<string>();
  for (const t of decoded.graph?.initializer ?? []) {
    if (t.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) continue;
    const loc = t.externalData?.find((e) => e.key === 'location')?.value;
    if (!loc || loc.includes('..') || loc.startsWith('/')) {
      throw new WebDiffusionError('MODEL_INVALID', `${fileName}: tensor ${t.name} has an unusable external-data location "${loc ?? ''}".`, {
        details: { file: fileName, tensor: t.name },
      });
    }
    locations.add(loc);
  }
  return [...locations].sort();
}
