/**
 * SessionRunner turns a backend error reported out of band (onnxruntime-web's WebGPU backend only logs
 * WebGPU validation errors, then returns whatever the GPU buffers held) into a RUNTIME_FAILED rejection.
 */
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { DType, GraphBuilder } from '../src/onnx/graph-builder.js';
import { SessionRunner, type OrtModule } from '../src/runtime/session-runner.js';

function doubler(): Uint8Array {
  const g = new GraphBuilder('doubler', 1);
  const x = g.input('x', DType.FLOAT, [2]);
  g.output('y', g.op('Mul', [x, g.float(2)]), DType.FLOAT, [2]);
  return g.serialize({ externalDataFile: 'model.onnx_data' }).model;
}

const feeds = { x: { type: 'float32' as const, data: new Float32Array([1, 2]), dims: [2] } };

describe('SessionRunner backend errors', () => {
  it('returns the outputs when the backend reports nothing', async () => {
    const runner = new SessionRunner(ort as unknown as OrtModule, {}, undefined, () => undefined);
    const s = await runner.createSession('doubler', doubler(), []);
    expect(Array.from((await s.run(feeds)).y!.data)).toEqual([2, 4]);
    await s.release();
  });

  it('rejects the run with RUNTIME_FAILED when the backend reported an error during it', async () => {
    const errors = ['The number of storage buffers (10) in the Compute stage exceeds the maximum per-stage limit (8).'];
    const runner = new SessionRunner(ort as unknown as OrtModule, {}, undefined, () => errors.shift());
    const s = await runner.createSession('doubler', doubler(), []);
    await expect(s.run(feeds)).rejects.toMatchObject({ code: 'RUNTIME_FAILED', details: { component: 'doubler' } });
    await expect(s.run(feeds)).resolves.toBeDefined(); // the error was taken; the next run is clean
    await s.release();
  });
});
