/**
 * Loading model packs through pack.json: manifest validation, per-component variant choice,
 * integrity checks (size, sha256) and the errors each failure gives, on onnxruntime-node.
 */
import { cp, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ortNode from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseComponentVariant, chooseVariants, loadSd3Pipeline, releasePipeline, verifyPackFile } from '../src/engine/load-sd3.js';
import { createNodeEngine } from '../src/engine/node-engine.js';
import { WebDiffusionError } from '../src/errors.js';
import { DEFAULT_FIXTURE } from '../src/fixtures/fixture-config.js';
import { writeFixture } from '../src/fixtures/write-fixture.js';
import { fsModelSource } from '../src/models/fs-model-source.js';
import { parsePackManifest, type PackComponentEntry, type PackManifest } from '../src/models/pack-manifest.js';
import { configFromManifest } from '../src/models/sd3-config.js';
import type { ProgressEvent } from '../src/protocol.js';
import { SessionRunner, type OrtModule } from '../src/runtime/session-runner.js';

let root: string;
let pack: string;
let manifest: PackManifest;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'wd-pack-'));
  pack = join(root, 'tiny-sd3');
  await writeFixture(pack, DEFAULT_FIXTURE);
  manifest = JSON.parse(await readFile(join(pack, 'pack.json'), 'utf8'));
}, 120_000);

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The error a promise (or function) rejects with. */
async function errorOf(p: Promise<unknown> | (() => unknown)): Promise<WebDiffusionError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    return e as WebDiffusionError;
  }
  throw new Error('expected an error');
}

const clone = <T>(v: T): T => structuredClone(v);

/** A fresh copy of the fixture pack, changed by `edit`. */
async function copyPack(edit: (dir: string) => Promise<void>): Promise<string> {
  const dir = await mkdtemp(join(root, 'copy-'));
  await cp(pack, dir, { recursive: true });
  await edit(dir);
  return dir;
}

async function editManifest(dir: string, edit: (m: PackManifest) => void): Promise<void> {
  const m = JSON.parse(await readFile(join(dir, 'pack.json'), 'utf8')) as PackManifest;
  edit(m);
  await writeFile(join(dir, 'pack.json'), JSON.stringify(m));
}

function nodeRunner(): SessionRunner {
  return new SessionRunner(ortNode as unknown as OrtModule, { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1 });
}

const WASM = { kind: 'wasm', shaderF16: false } as const;
const GPU = { kind: 'webgpu', shaderF16: false } as const;
const GPU_F16 = { kind: 'webgpu', shaderF16: true } as const;

describe('pack.json validation names the field', () => {
  it('accepts the fixture manifest and builds the pipeline config from it', () => {
    const m = parsePackManifest(manifest);
    const c = configFromManifest(m);
    expect(c).toMatchObject({ hasT5: true, t5Length: 256, clipL: { layers: 2 }, clipG: { layers: 3 }, vae: { scaleFactor: 8, latentChannels: 16 } });
    expect(c.transformer).toMatchObject({ inChannels: 16, patchSize: 2, sampleSize: 32, posEmbedMaxSize: 48, jointAttentionDim: 96 });
  });

  it('a bad sha256 string', async () => {
    const m = clone(manifest);
    m.components.transformer.variants.fp32!.files[1]!.sha256 = 'ABC123';
    const e = await errorOf(() => parsePackManifest(m));
    expect(e.code).toBe('MODEL_INVALID');
    expect(e.message).toContain('components.transformer.variants.fp32.files.1.sha256');
  });

  it('a missing component', async () => {
    const m = clone(manifest) as Partial<PackManifest['components']> & PackManifest;
    delete (m.components as Partial<PackManifest['components']>).transformer;
    const e = await errorOf(() => parsePackManifest(m));
    expect(e.code).toBe('MODEL_INVALID');
    expect(e.message).toContain('"components.transformer"');
  });

  it('hasT5 disagreeing with the components', async () => {
    const m = clone(manifest);
    m.architecture.hasT5 = false;
    const e = await errorOf(() => parsePackManifest(m));
    expect(e.code).toBe('MODEL_INVALID');
    expect(e.message).toContain('architecture.hasT5');
  });

  it('a path leaving the pack', async () => {
    const m = clone(manifest);
    m.components.vae_decoder.variants.fp32!.files[0]!.path = '../secrets/model.onnx';
    const e = await errorOf(() => parsePackManifest(m));
    expect(e.code).toBe('MODEL_INVALID');
    expect(e.message).toContain('components.vae_decoder.variants.fp32.files.0.path');
  });

  it('a sample-size range the patch grid cannot meet', async () => {
    const m = clone(manifest);
    m.architecture.sampleSize.max = 770;
    const e = await errorOf(() => configFromManifest(parsePackManifest(m)));
    expect(e.code).toBe('MODEL_INVALID');
    expect(e.message).toContain('architecture.sampleSize.max');
  });
});

describe('variant choice per component', () => {
  const files = [{ path: 'transformer/model_x.onnx', bytes: 1, sha256: '0'.repeat(64) }];
  const entry = (variants: Record<string, string[]>): PackComponentEntry => ({
    inputs: ['a'],
    outputs: ['b'],
    variants: Object.fromEntries(Object.entries(variants).map(([v, requiresFeatures]) => [v, { files, requiresFeatures }])),
  }) as PackComponentEntry;

  it('a variant needing shader-f16 is chosen only where the backend has it', () => {
    const e = entry({ q4f16: ['shader-f16'], q4: [] });
    expect(chooseComponentVariant('transformer', e, GPU_F16)).toBe('q4f16');
    expect(chooseComponentVariant('transformer', e, GPU)).toBe('q4');
    expect(chooseComponentVariant('transformer', e, WASM)).toBe('q4');
  });

  it('fp16 declared as needing shader-f16 is not used on WASM or on a GPU without it', async () => {
    const both = entry({ fp16: ['shader-f16'], fp32: [] });
    expect(chooseComponentVariant('text_encoder_3', both, GPU_F16)).toBe('fp16');
    expect(chooseComponentVariant('text_encoder_3', both, GPU)).toBe('fp32');
    expect(chooseComponentVariant('text_encoder_3', both, WASM)).toBe('fp32');
    const only = entry({ fp16: ['shader-f16'] });
    const e = await errorOf(() => chooseComponentVariant('text_encoder_3', only, WASM));
    expect(e.code).toBe('MODEL_NOT_AVAILABLE');
    expect(e.message).toContain('text_encoder_3');
    expect(e.message).toContain('shader-f16');
  });

  it('each component gets its own choice', () => {
    const m = clone(manifest);
    m.components.transformer = entry({ q4f16: ['shader-f16'], q4: [] });
    m.components.text_encoder = entry({ fp16: ['shader-f16'], fp32: [] });
    expect(chooseVariants(m, GPU)).toEqual({ text_encoder: 'fp32', text_encoder_2: 'fp32', text_encoder_3: 'fp32', transformer: 'q4', vae_decoder: 'fp32' });
    expect(chooseVariants(m, GPU_F16)).toMatchObject({ text_encoder: 'fp16', transformer: 'q4f16' });
  });
});

describe('loading the fixture pack on onnxruntime-node', () => {
  it('generates, reporting per-component variants and bytes read', async () => {
    const engine = createNodeEngine();
    const events: ProgressEvent[] = [];
    const info = await engine.load({ modelId: 'tiny-sd3', baseUrl: pack }, (e) => events.push(e));
    expect(info.variant).toBe('fp32');
    expect(info.variants.transformer).toBe('fp32');
    const loading = events.filter((e) => e.phase === 'loading');
    const last = loading.at(-1)!;
    expect(last).toMatchObject({ component: 'done' });
    expect(last.bytesTotal).toBeGreaterThan(1_000_000);
    expect(last.bytesDone).toBe(last.bytesTotal);
    const r = await engine.generate({ jobId: 'p', prompt: 'a red cube', width: 64, height: 64, steps: 2, guidance: 4.5, seed: 3 });
    expect(r.image.rgba.length).toBe(64 * 64 * 4);
    await engine.unload();
  });

  it('a folder without pack.json is not a pack', async () => {
    const dir = await copyPack((d) => rm(join(d, 'pack.json')));
    const e = await errorOf(createNodeEngine().load({ modelId: 'tiny-sd3', baseUrl: dir }));
    expect(e.code).toBe('MODEL_FILE_MISSING');
    expect(e.message).toContain('pack.json');
  });

  it('a corrupted shard (one byte flipped) → MODEL_FILE_CORRUPT naming the file', async () => {
    const dir = await copyPack(async (d) => {
      const p = join(d, 'transformer/model.onnx_data');
      const b = await readFile(p);
      const i = b.length >> 1;
      b[i] = b[i]! ^ 0xff;
      await writeFile(p, b);
    });
    const e = await errorOf(createNodeEngine().load({ modelId: 'tiny-sd3', baseUrl: dir }));
    expect(e.code).toBe('MODEL_FILE_CORRUPT');
    expect(e.message).toContain('transformer/model.onnx_data');
    expect(e.message).toContain('sha256');
    expect(e.details).toMatchObject({ file: 'transformer/model.onnx_data' });
  });

  it('a truncated file → MODEL_FILE_CORRUPT stating both sizes', async () => {
    const want = manifest.components.vae_decoder.variants.fp32!.files[1]!;
    const dir = await copyPack((d) => truncate(join(d, want.path), 100));
    const e = await errorOf(createNodeEngine().load({ modelId: 'tiny-sd3', baseUrl: dir }));
    expect(e.code).toBe('MODEL_FILE_CORRUPT');
    expect(e.message).toContain(want.path);
    expect(e.message).toContain(`${want.bytes}`);
    expect(e.details).toMatchObject({ expectedBytes: want.bytes, actualBytes: 100 });
  });

  it('a missing file → MODEL_FILE_MISSING', async () => {
    const dir = await copyPack((d) => rm(join(d, 'text_encoder_2/model.onnx_data')));
    const engine = createNodeEngine();
    const e = await errorOf(engine.load({ modelId: 'tiny-sd3', baseUrl: dir }));
    expect(e.code).toBe('MODEL_FILE_MISSING');
    expect(e.details).toMatchObject({ file: 'text_encoder_2/model.onnx_data' });
    expect(engine.model).toBeNull();
  });

  it('a manifest with a wrong hash → MODEL_FILE_CORRUPT; skipping hash checks (a verified store) loads it', async () => {
    const dir = await copyPack((d) => editManifest(d, (m) => void (m.tokenizers.tokenizer_2[0]!.sha256 = 'f'.repeat(64))));
    const e = await errorOf(createNodeEngine().load({ modelId: 'tiny-sd3', baseUrl: dir }));
    expect(e.code).toBe('MODEL_FILE_CORRUPT');
    expect(e.message).toContain('tokenizer_2/tokenizer.json');
    expect(e.details).toMatchObject({ expectedSha256: 'f'.repeat(64) });

    const loaded = await loadSd3Pipeline(fsModelSource(dir), nodeRunner(), { backend: WASM, verifyHashes: false });
    expect(loaded.variants.vae_decoder).toBe('fp32');
    await releasePipeline(loaded.pipeline);
  });

  it('a manifest with a wrong size → MODEL_FILE_CORRUPT even without hash checks', async () => {
    const dir = await copyPack((d) => editManifest(d, (m) => void (m.components.transformer.variants.fp32!.files[0]!.bytes += 1)));
    const e = await errorOf(loadSd3Pipeline(fsModelSource(dir), nodeRunner(), { backend: WASM, verifyHashes: false }));
    expect(e.code).toBe('MODEL_FILE_CORRUPT');
    expect(e.message).toContain('transformer/model.onnx');
  });

  it('external data the graph needs but the variant does not list → MODEL_INVALID naming it', async () => {
    const dir = await copyPack((d) => editManifest(d, (m) => void m.components.vae_decoder.variants.fp32!.files.splice(1, 1)));
    const e = await errorOf(createNodeEngine().load({ modelId: 'tiny-sd3', baseUrl: dir }));
    expect(e.code).toBe('MODEL_INVALID');
    expect(e.message).toContain('vae_decoder/model.onnx_data');
  });

  it('a declared interface lacking what the pipeline needs → MODEL_INVALID naming the field, before any weights are read', async () => {
    const dir = await copyPack(async (d) => {
      await editManifest(d, (m) => void (m.components.text_encoder_2.outputs = ['text_embeds']));
      await rm(join(d, 'transformer/model.onnx_data'));
    });
    const e = await errorOf(createNodeEngine().load({ modelId: 'tiny-sd3', baseUrl: dir }));
    expect(e.code).toBe('MODEL_INVALID');
    expect(e.message).toContain('components.text_encoder_2.outputs');
    expect(e.message).toContain('hidden_states.2'); // CLIP-G's penultimate layer (3 layers in the fixture)
  });

  it('fast mode reads each component while the one before it becomes a session; low-memory mode reads no weights at load', async () => {
    const log: string[] = [];
    const fs = fsModelSource(pack);
    // Reads take a while (as from IndexedDB), so overlap with session creation shows in the order of events.
    const slowSource = { description: fs.description, readBytes: async (path: string) => {
      log.push(`read ${path}`);
      await new Promise((r) => setTimeout(r, 20));
      const b = await fs.readBytes(path);
      log.push(`read done ${path}`);
      return b;
    } };
    const ort = { ...(ortNode as unknown as OrtModule) };
    ort.InferenceSession = { create: async (model, options) => {
      const name = (options?.externalData?.[0] as { path?: string } | undefined)?.path ?? 'no external data';
      const count = log.filter((l) => l.startsWith('create ') && !l.startsWith('create done')).length;
      log.push(`create ${count}`);
      try {
        // Session creation takes longer than a read here (as a real one does), so a read ahead shows.
        await new Promise((r) => setTimeout(r, 300));
        return await ortNode.InferenceSession.create(model, options as never);
      } finally {
        log.push(`create done ${count} (${name})`);
      }
    } };
    const runner = new SessionRunner(ort, { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1 });
    const loaded = await loadSd3Pipeline(slowSource, runner, { backend: WASM, memoryMode: 'fast' });
    // The transformer's weights are read before the session created just before it (the last text encoder) is done.
    const weights = manifest.components.transformer.variants.fp32!.files[1]!.path;
    const creates = log.filter((l) => l.startsWith('create done'));
    expect(creates).toHaveLength(5);
    const textDone = log.indexOf(creates[2]!);
    expect(log.indexOf(`read ${weights}`)).toBeGreaterThan(-1);
    expect(log.indexOf(`read ${weights}`)).toBeLessThan(textDone);
    // Every weight file was read once.
    const reads = log.filter((l) => l.startsWith('read ') && !l.startsWith('read done') && l.endsWith('.onnx_data'));
    expect(new Set(reads).size).toBe(reads.length);
    await releasePipeline(loaded.pipeline);

    log.length = 0;
    const low = await loadSd3Pipeline(slowSource, runner, { backend: WASM, memoryMode: 'low-memory' });
    expect(log.filter((l) => l.endsWith('.onnx_data'))).toEqual([]);
    await releasePipeline(low.pipeline);
  });

  it('a read ahead that fails is reported by the load, naming the file', async () => {
    const dir = await copyPack((d) => rm(join(d, 'transformer/model.onnx_data')));
    const e = await errorOf(loadSd3Pipeline(fsModelSource(dir), nodeRunner(), { backend: WASM, memoryMode: 'fast' }));
    expect(e.code).toBe('MODEL_FILE_MISSING');
    expect(e.details).toMatchObject({ file: 'transformer/model.onnx_data' });
  });

  it('verifyPackFile checks size, then sha256', async () => {
    const data = new TextEncoder().encode('hello');
    const file = { path: 'a/b.json', bytes: 5, sha256: '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824' };
    await expect(verifyPackFile(file, data)).resolves.toBeUndefined();
    expect((await errorOf(verifyPackFile({ ...file, bytes: 6 }, data))).code).toBe('MODEL_FILE_CORRUPT');
    expect((await errorOf(verifyPackFile({ ...file, sha256: '0'.repeat(64) }, data))).code).toBe('MODEL_FILE_CORRUPT');
    await expect(verifyPackFile({ ...file, sha256: '0'.repeat(64) }, data, { hash: false })).resolves.toBeUndefined();
  });
});
