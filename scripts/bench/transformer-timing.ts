/**
 * One transformer forward as a denoising step runs it (batch 2 = guidance on), timed on any
 * SessionRunner: onnxruntime-web in the bench worker, onnxruntime-node in the bench script. The graph
 * comes from a pack (pack.json → the transformer's variant files), so browser and Node run the same bytes.
 */
import { standardNormal } from '../../src/diffusion/noise.js';
import { readJson, type ModelSource } from '../../src/models/model-source.js';
import { parsePackManifest, type PackManifest } from '../../src/models/pack-manifest.js';
import type { ExternalDataFile, ModelSession, SessionRunner, TensorData } from '../../src/runtime/session-runner.js';

/** CLIP 77 + T5 256 tokens (contract §3.3). */
export const TEXT_TOKENS = 333;

export async function readPackManifest(source: ModelSource): Promise<PackManifest> {
  return parsePackManifest(await readJson(source, 'pack.json'), 'pack.json');
}

/** The transformer's graph and external-data files of a pack, from the named variant (default: the first the pack offers). */
export async function readTransformerFiles(source: ModelSource, variant?: string): Promise<{ model: Uint8Array; externalData: ExternalDataFile[] }> {
  const manifest = await readPackManifest(source);
  const entry = manifest.components.transformer;
  if (!entry) throw new Error('pack has no transformer');
  const v = (variant ? entry.variants[variant as keyof typeof entry.variants] : Object.values(entry.variants)[0]) ?? null;
  if (!v) throw new Error(`pack has no transformer variant ${variant}`);
  const graph = v.files.find((f) => f.path.endsWith('.onnx'));
  if (!graph) throw new Error('transformer variant lists no .onnx file');
  const model = await source.readBytes(graph.path);
  const externalData: ExternalDataFile[] = [];
  for (const f of v.files) if (f !== graph) externalData.push({ path: f.path.slice(f.path.lastIndexOf('/') + 1), data: await source.readBytes(f.path) });
  return { model, externalData };
}

/** The transformer session of a pack, from the named variant (default: the first the pack offers). */
export async function createTransformerSession(source: ModelSource, runner: SessionRunner, variant?: string): Promise<ModelSession> {
  const { model, externalData } = await readTransformerFiles(source, variant);
  return runner.createSession('transformer', model, externalData);
}

/** Feeds of one step at `side`² pixels: latents N(0,1), text features and pooled vectors small random values. */
export function transformerFeeds(manifest: PackManifest, side: number, batch: number): Record<string, TensorData> {
  const a = manifest.architecture;
  const l = side / a.vaeScaleFactor;
  const scaled = (seed: number, n: number, s: number) => standardNormal(seed, n).map((x) => x * s);
  return {
    hidden_states: { type: 'float32', data: standardNormal(1, batch * a.latentChannels * l * l), dims: [batch, a.latentChannels, l, l] },
    encoder_hidden_states: { type: 'float32', data: scaled(2, batch * TEXT_TOKENS * a.jointAttentionDim, 0.1), dims: [batch, TEXT_TOKENS, a.jointAttentionDim] },
    pooled_projections: { type: 'float32', data: scaled(3, batch * a.pooledProjectionDim, 0.1), dims: [batch, a.pooledProjectionDim] },
    timestep: { type: 'float32', data: new Float32Array(batch).fill(750), dims: [batch] },
  };
}

/** Milliseconds of `runs` timed runs after `warmup` untimed ones. */
export async function timeSteps(session: ModelSession, feeds: Record<string, TensorData>, runs: number, warmup = 1, now = () => performance.now()): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await session.run(feeds, ['out_hidden_states']);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = now();
    await session.run(feeds, ['out_hidden_states']);
    times.push(now() - t0);
  }
  return times;
}
