/**
 * onnxruntime-web (JSEP) WebGPU graph capture on a real transformer graph, against the session the
 * app creates today. One mode per worker (so GPU memory peaks are the mode's own):
 *  - normal: the app's session options (src/runtime/ort-web.ts), axes pinned with
 *    freeDimensionOverrides, output kept in a GPU buffer; latents, text features and pooled vectors
 *    fed as GPU tensors and the timestep as CPU data, as src/diffusion/gpu-loop.ts feeds them;
 *  - capture: the same options plus `enableGraphCapture`; every input and the output are GPU buffers
 *    allocated once and bound on the first run (which captures); later runs write new data into the
 *    same buffers and replay.
 * Each run gets other latents and another timestep (so a replay reading stale data would show), and
 * reports the bytes written to / read from the GPU inside session.run, the live and peak GPU buffer
 * bytes, and its output (read back outside the counted window) for comparison across modes.
 */
import * as ort from 'onnxruntime-web';
import { standardNormal } from '../../../src/diffusion/noise.js';
import { httpModelSource } from '../../../src/models/model-source.js';
import { createWebRuntime } from '../../../src/runtime/ort-web.js';
import { describeGraph, freeDimensionOverrides } from '../../../src/runtime/static-shapes.js';
import { readPackManifest, readTransformerFiles, transformerFeeds } from '../transformer-timing.js';
import { gpuMemory, resetGpuPeak } from './gpu-memory.js';
import { gpuTraffic, resetGpuTraffic } from './gpu-traffic.js';
import { serveSteps } from './serve-steps.js';

export interface CaptureRun {
  /** Wall time of session.run plus reading the output back (SwiftShader: indicative only). */
  ms: number;
  /** Bytes written to the GPU inside session.run, plus (capture mode) the timestep this code wrote into its bound buffer. */
  writtenBytes: number;
  writeCalls: number;
  readBytes: number;
  liveBytes: number;
  peakBytes: number;
}

export type CaptureMode = 'normal' | 'capture' | 'capture-ort-output';

export interface CaptureResult {
  mode: CaptureMode;
  backend: string;
  createMs: number;
  /** Live GPU bytes before the session, after creating it (weights), and the peak over the runs. */
  liveBefore: number;
  liveAfterCreate: number;
  peakBytes: number;
  runs: CaptureRun[];
  /** Output of each run, as plain numbers. */
  outputs: number[][];
  timesteps: number[];
  gpuErrors: string[];
  error?: { at: string; message: string };
}

const STORAGE = 0x0080 | 0x0008 | 0x0004; // STORAGE | COPY_DST | COPY_SRC

function gpuInput(device: GPUDevice, byteLength: number): GPUBuffer {
  return device.createBuffer({ size: Math.ceil(byteLength / 16) * 16, usage: STORAGE });
}

/** Reads `byteLength` bytes of a buffer whose writes were already submitted. */
async function readBuffer(device: GPUDevice, buffer: GPUBuffer, byteLength: number): Promise<Float32Array> {
  const staging = device.createBuffer({ size: byteLength, usage: 0x0001 | 0x0008 }); // MAP_READ | COPY_DST
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(buffer, 0, staging, 0, byteLength);
  device.queue.submit([encoder.finish()]);
  await staging.mapAsync(0x0001);
  const out = new Float32Array(staging.getMappedRange().slice(0));
  staging.unmap();
  staging.destroy();
  return out;
}

export function startCaptureBench(): void {
  serveSteps({
    async run(a: { baseUrl: string; variant: string; side: number; batch: number; runs: number; mode: CaptureMode }): Promise<CaptureResult> {
      const mode = a.mode;
      const capture = mode !== 'normal';
      // 'capture': the output too is a bound buffer of ours; 'capture-ort-output': ORT allocates it (in the capture run) and keeps it bound.
      const boundOutput = mode === 'capture';
      const { runner, backend } = await createWebRuntime('webgpu');
      const source = httpModelSource(a.baseUrl);
      const manifest = await readPackManifest(source);
      const feeds = transformerFeeds(manifest, a.side, a.batch);
      const { model, externalData } = await readTransformerFiles(source, a.variant);
      const shapes = Object.fromEntries(Object.entries(feeds).map(([k, f]) => [k, f.dims]));
      const overrides = freeDimensionOverrides(describeGraph(model).inputs, shapes).overrides;
      const result: CaptureResult = {
        mode,
        backend: backend.description,
        createMs: NaN,
        liveBefore: gpuMemory.liveBytes,
        liveAfterCreate: NaN,
        peakBytes: NaN,
        runs: [],
        outputs: [],
        timesteps: [],
        gpuErrors: [],
      };
      if (backend.kind !== 'webgpu') return { ...result, error: { at: 'backend', message: `ran on ${backend.kind}` } };
      resetGpuPeak();
      let session: ort.InferenceSession;
      const t0 = performance.now();
      try {
        session = await ort.InferenceSession.create(model, {
          ...(runner.sessionOptions as ort.InferenceSession.SessionOptions),
          freeDimensionOverrides: overrides,
          preferredOutputLocation: 'gpu-buffer',
          ...(capture ? { enableGraphCapture: true } : {}),
          externalData,
        });
      } catch (e) {
        return { ...result, error: { at: 'create', message: e instanceof Error ? e.message : String(e) } };
      }
      result.createMs = performance.now() - t0;
      result.liveAfterCreate = gpuMemory.liveBytes;
      const device = (ort.env.webgpu as unknown as { device: GPUDevice }).device;
      device.addEventListener('uncapturederror', (ev) => result.gpuErrors.push((ev as GPUUncapturedErrorEvent).error.message.split('\n')[0] ?? 'GPU error'));

      // Inputs in GPU buffers this code owns (bound once in capture mode); the output too in capture mode.
      const names = ['hidden_states', 'encoder_hidden_states', 'pooled_projections', 'timestep'] as const;
      const buffers = new Map<string, GPUBuffer>();
      const tensors: Record<string, ort.Tensor> = {};
      for (const n of names) {
        if (n === 'timestep' && !capture) continue;
        const f = feeds[n]!;
        const buffer = gpuInput(device, f.data.byteLength);
        buffers.set(n, buffer);
        tensors[n] = ort.Tensor.fromGpuBuffer(buffer, { dataType: 'float32', dims: f.dims });
      }
      const outDims = feeds.hidden_states!.dims;
      const outBytes = feeds.hidden_states!.data.byteLength;
      const outBuffer = boundOutput ? gpuInput(device, outBytes) : null;
      const zeros = new Float32Array(outBytes / 4);
      const fetches = outBuffer ? { out_hidden_states: ort.Tensor.fromGpuBuffer(outBuffer, { dataType: 'float32', dims: outDims }) } : ['out_hidden_states'];
      const write = (n: string, data: Float32Array) => device.queue.writeBuffer(buffers.get(n)!, 0, data as Float32Array<ArrayBuffer>);
      write('encoder_hidden_states', feeds.encoder_hidden_states!.data as Float32Array);
      write('pooled_projections', feeds.pooled_projections!.data as Float32Array);

      try {
        for (let i = 0; i < a.runs; i++) {
          const timestep = new Float32Array(a.batch).fill(1000 - 137 * i);
          write('hidden_states', standardNormal(100 + i, outDims.reduce((x, y) => x * y, 1)));
          if (capture) write('timestep', timestep);
          // A replay that does not write its output would leave these zeros.
          if (outBuffer) device.queue.writeBuffer(outBuffer, 0, zeros);
          const runFeeds: Record<string, ort.Tensor> = { ...tensors };
          const cpuTimestep = capture ? null : new ort.Tensor('float32', timestep, [a.batch]);
          if (cpuTimestep) runFeeds.timestep = cpuTimestep;
          resetGpuTraffic();
          resetGpuPeak();
          const r0 = performance.now();
          let out: Float32Array;
          let traffic: typeof gpuTraffic;
          try {
            const results = await session.run(runFeeds, fetches as never);
            traffic = { ...gpuTraffic };
            const t = results.out_hidden_states!;
            out = outBuffer ? await readBuffer(device, outBuffer, outBytes) : ((await t.getData(true)) as Float32Array);
            if (!outBuffer) t.dispose();
          } catch (e) {
            result.error = { at: `run ${i + 1}`, message: e instanceof Error ? e.message : String(e) };
            break;
          } finally {
            cpuTimestep?.dispose();
          }
          result.runs.push({
            ms: performance.now() - r0,
            writtenBytes: traffic.writtenBytes + (capture ? timestep.byteLength : 0),
            writeCalls: traffic.writeCalls + (capture ? 1 : 0),
            readBytes: traffic.readBytes,
            liveBytes: gpuMemory.liveBytes,
            peakBytes: gpuMemory.peakBytes,
          });
          result.outputs.push(Array.from(out));
          result.timesteps.push(timestep[0]!);
        }
      } finally {
        result.peakBytes = Math.max(...result.runs.map((r) => r.peakBytes), result.liveAfterCreate);
        await session.release();
        for (const b of buffers.values()) b.destroy();
        outBuffer?.destroy();
      }
      return result;
    },
  });
}
