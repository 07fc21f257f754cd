/**
 * The pipeline's loops and memory modes on onnxruntime-node with the fixture pack: the step-graph
 * loop (what runs on WebGPU, here on CPU tensors) gives the CPU loop's image, with guidance as one
 * batch-2 run or two batch-1 runs; low-memory mode gives fast mode's image and keeps nothing loaded;
 * pinned shapes follow the image size.
 */
import * as ortNode from 'onnxruntime-node';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { textToImage, type PipelineImage } from '../src/diffusion/text-to-image.js';
import type { ValidRequest } from '../src/diffusion/validate-request.js';
import { loadSd3Pipeline, releasePipeline, type LoadedPack, type LoadOptions } from '../src/engine/load-sd3.js';
import { DEFAULT_FIXTURE } from '../src/fixtures/fixture-config.js';
import { writeFixture } from '../src/fixtures/write-fixture.js';
import { fsModelSource } from '../src/models/fs-model-source.js';
import type { PreviewImage, ProgressEvent } from '../src/protocol.js';
import { SessionRunner, type OrtModule } from '../src/runtime/session-runner.js';

let root: string;
let pack: string;
const opened: LoadedPack[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'wd-loops-'));
  pack = join(root, 'tiny-sd3');
  await writeFixture(pack, DEFAULT_FIXTURE);
}, 120_000);
afterAll(async () => {
  await Promise.all(opened.map((l) => releasePipeline(l.pipeline)));
  await rm(root, { recursive: true, force: true });
});

const runner = () => new SessionRunner(ortNode as unknown as OrtModule, { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1 });
const WASM = { kind: 'wasm', shaderF16: false } as const;

async function load(options: Partial<LoadOptions> = {}): Promise<LoadedPack> {
  const l = await loadSd3Pipeline(fsModelSource(pack), runner(), { backend: WASM, verifyHashes: false, ...options });
  opened.push(l);
  return l;
}

const request = (over: Partial<ValidRequest> = {}): ValidRequest => ({
  jobId: 'j',
  prompt: 'a photo of a cat',
  negativePrompt: 'blurry',
  width: 128,
  height: 96,
  steps: 4,
  guidance: 4.5,
  seed: 2024,
  preview: false,
  ...over,
});

async function generate(l: LoadedPack, over: Partial<ValidRequest> = {}): Promise<{ image: PipelineImage; previews: PreviewImage[] }> {
  const previews: PreviewImage[] = [];
  const image = await textToImage(l.pipeline, request(over), {
    onProgress: (e: ProgressEvent) => void (e.phase === 'denoising' && e.preview && previews.push(e.preview)),
  });
  return { image, previews };
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const TINY_GPU = { maxBufferSize: 1024, maxStorageBufferBindingSize: 1024 };

describe('denoising loops', () => {
  it('the step-graph loop gives the CPU loop’s image and previews (batch-2 guidance)', async () => {
    const cpu = await load();
    const graphLoop = await load({ gpuResidentLoop: true });
    const a = await generate(cpu, { preview: true });
    const b = await generate(graphLoop, { preview: true });
    expect(a.image.gpuResident).toBe(false);
    expect(b.image).toMatchObject({ gpuResident: true, guidancePlan: 'batched' });
    expect(maxDiff(b.image.rgba, a.image.rgba)).toBeLessThanOrEqual(1);
    expect(b.previews.map((p) => [p.width, p.height])).toEqual(Array(4).fill([16, 12]));
    for (let i = 0; i < 4; i++) expect(maxDiff(b.previews[i]!.rgba, a.previews[i]!.rgba)).toBeLessThanOrEqual(1);
  });

  it('guidance as two batch-1 runs (a GPU too small for batch 2) gives the same image', async () => {
    const batched = await load({ gpuResidentLoop: true });
    const split = await load({ gpuResidentLoop: true, backend: { ...WASM, gpuLimits: TINY_GPU } });
    const a = await generate(batched);
    const b = await generate(split);
    expect(b.image.guidancePlan).toBe('split');
    expect(maxDiff(b.image.rgba, a.image.rgba)).toBeLessThanOrEqual(1);
  });

  it('without guidance the step-graph loop runs one batch-1 pass and matches the CPU loop', async () => {
    const a = await generate(await load(), { guidance: 1 });
    const b = await generate(await load({ gpuResidentLoop: true }), { guidance: 1 });
    expect(b.image.guidancePlan).toBe('single');
    expect(maxDiff(b.image.rgba, a.image.rgba)).toBeLessThanOrEqual(1);
  });
});

describe('memory modes and static shapes', () => {
  it('low memory: the same image as fast mode, and nothing stays loaded between images', async () => {
    const fast = await load({ memoryMode: 'fast' });
    const low = await load({ memoryMode: 'low-memory' });
    expect(fast.memory.mode).toBe('fast');
    expect(low.memory).toMatchObject({ mode: 'low-memory', reason: 'chosen in the settings' });
    const components = ['text_encoder', 'text_encoder_2', 'text_encoder_3', 'transformer', 'vae_decoder'] as const;
    expect(components.filter((c) => fast.sessions.isLoaded(c))).toEqual([...components]);
    expect(components.filter((c) => low.sessions.isLoaded(c))).toEqual([]);
    const a = await generate(fast);
    const b = await generate(low);
    expect(Buffer.from(b.image.rgba).equals(Buffer.from(a.image.rgba))).toBe(true);
    expect(components.filter((c) => low.sessions.isLoaded(c))).toEqual([]);
    // A second image with the same prompts reuses their embeddings and still matches.
    const c = await generate(low, { seed: 7 });
    const d = await generate(fast, { seed: 7 });
    expect(Buffer.from(c.image.rgba).equals(Buffer.from(d.image.rgba))).toBe(true);
  });

  it('auto picks fast for the 2.6 MB demo model', async () => {
    expect((await load()).memory.mode).toBe('fast');
  });

  it('sessions pinned to one size are re-pinned for another, giving the image of unpinned sessions', async () => {
    const pinned = await load();
    const dynamic = await load({ staticShapes: false });
    for (const size of [{ width: 128, height: 96 }, { width: 64, height: 128 }, { width: 128, height: 96 }]) {
      const a = await generate(pinned, size);
      const b = await generate(dynamic, size);
      expect([a.image.width, a.image.height]).toEqual([size.width, size.height]);
      expect(maxDiff(a.image.rgba, b.image.rgba)).toBeLessThanOrEqual(1);
    }
    expect(pinned.sessions.dynamicFallback.size).toBe(0);
  });

  it('sessions pinned at load to the first image are not re-created for it', async () => {
    const created: string[] = [];
    const counting = runner();
    const create = counting.createSession.bind(counting);
    counting.createSession = (name, model, data) => (created.push(name), create(name, model, data));
    const l = await loadSd3Pipeline(fsModelSource(pack), counting, { backend: WASM, verifyHashes: false, firstImage: { width: 128, height: 96, guidance: 4.5 } });
    opened.push(l);
    const atLoad = created.length;
    expect(created).toContain('transformer');
    await generate(l, { width: 128, height: 96, guidance: 4.5 });
    expect(created.length).toBe(atLoad);
    // Another size re-pins the transformer and the VAE decoder (and nothing else).
    await generate(l, { width: 64, height: 128 });
    expect(created.slice(atLoad).sort()).toEqual(['transformer', 'vae_decoder']);
  });
});
