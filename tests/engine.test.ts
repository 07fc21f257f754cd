/**
 * The engine end to end on onnxruntime-node with the fixture models: the same code the worker runs.
 */
import * as Comlink from 'comlink';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeEngine } from '../src/engine/node-engine.js';
import { installErrorTransfer, WebDiffusionError } from '../src/errors.js';
import { DEFAULT_FIXTURE } from '../src/fixtures/fixture-config.js';
import { writeFixture } from '../src/fixtures/write-fixture.js';
import type { GenerateRequest } from '../src/protocol.js';
import { externalDataLocations } from '../src/runtime/external-data.js';

const WITH_T5 = 'public/models/tiny-sd3';
const NO_T5 = 'public/models/tiny-sd3-no-t5';
const base: Omit<GenerateRequest, 'jobId'> = { prompt: 'a photo of a cat', width: 128, height: 96, steps: 4, guidance: 4.5, seed: 11 };

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'no error';
  } catch (e) {
    return (e as WebDiffusionError).code;
  }
}

beforeAll(async () => {
  await writeFixture(WITH_T5, DEFAULT_FIXTURE);
  await writeFixture(NO_T5, { ...DEFAULT_FIXTURE, t5: null });
}, 120_000);

describe('GeneratorEngine on onnxruntime-node', () => {
  const engine = createNodeEngine();
  beforeAll(async () => {
    await engine.load({ modelId: 'tiny-sd3', baseUrl: WITH_T5 });
  });
  afterAll(() => engine.unload());

  it('reports what it loaded', () => {
    expect(engine.model).toMatchObject({ modelId: 'tiny-sd3', variant: 'fp32', hasT5: true, limits: { multipleOf: 16, minSide: 64, maxSide: 768 } });
    expect(engine.model?.variants).toEqual({ text_encoder: 'fp32', text_encoder_2: 'fp32', text_encoder_3: 'fp32', transformer: 'fp32', vae_decoder: 'fp32' });
  });

  it('makes the same image for the same request, another for another seed', async () => {
    const a = await engine.generate({ jobId: 'a', ...base });
    const b = await engine.generate({ jobId: 'b', ...base });
    const c = await engine.generate({ jobId: 'c', ...base, seed: 12 });
    expect([a.width, a.height, a.image.rgba.length]).toEqual([128, 96, 128 * 96 * 4]);
    expect(Buffer.from(a.image.rgba).equals(Buffer.from(b.image.rgba))).toBe(true);
    expect(Buffer.from(a.image.rgba).equals(Buffer.from(c.image.rgba))).toBe(false);
    expect(a.seed).toBe(11);
    expect(a.timings.sessionMs).toBeGreaterThan(0);
    expect(a.timings.sessionMs).toBeLessThanOrEqual(a.timings.totalMs);
  });

  it('guidance ≤ 1 runs one batch row per step and the negative prompt has no effect', async () => {
    const steps: number[] = [];
    const one = await engine.generate({ jobId: 'g1', ...base, guidance: 1, negativePrompt: 'x' }, (e) => e.phase === 'denoising' && steps.push(e.step));
    const two = await engine.generate({ jobId: 'g2', ...base, guidance: 1, negativePrompt: 'something else entirely' });
    expect(steps).toEqual([1, 2, 3, 4]);
    expect(Buffer.from(one.image.rgba).equals(Buffer.from(two.image.rgba))).toBe(true);
    const cfg = await engine.generate({ jobId: 'g3', ...base, guidance: 4.5, negativePrompt: 'x' });
    expect(Buffer.from(cfg.image.rgba).equals(Buffer.from(one.image.rgba))).toBe(false);
  });

  it('reports the words dropped from an over-long prompt', async () => {
    const prompt = `${'cat '.repeat(80)}zebra`;
    const r = await engine.generate({ jobId: 't', ...base, prompt, steps: 1 });
    const clip = r.truncated.find((t) => t.encoder === 'clip' && t.field === 'prompt');
    expect(clip?.droppedText).toContain('zebra');
    expect(clip?.maxTokens).toBe(77);
    expect(r.truncated.some((t) => t.encoder === 't5')).toBe(false); // 81 words fit T5's 256
  });

  it('cancels a running job at the next step; the next job works', async () => {
    let seen = 0;
    const run = engine.generate({ jobId: 'long', ...base, steps: 50 }, (e) => {
      if (e.phase === 'denoising' && ++seen === 2) void engine.cancel('long');
    });
    expect(await codeOf(run)).toBe('CANCELLED');
    expect(seen).toBeLessThan(5);
    const next = await engine.generate({ jobId: 'after', ...base });
    expect(next.image.rgba.length).toBe(128 * 96 * 4);
  });

  it('a queued job cancelled before it starts never runs', async () => {
    const first = engine.generate({ jobId: 'q1', ...base, steps: 2 });
    const progress: string[] = [];
    const second = engine.generate({ jobId: 'q2', ...base, steps: 2 }, (e) => progress.push(e.phase));
    await engine.cancel('q2');
    await first;
    expect(await codeOf(second)).toBe('CANCELLED');
    expect(progress).toEqual([]);
  });

  it('bad requests fail with their code and do not break the next one', async () => {
    expect(await codeOf(engine.generate({ jobId: 'bad', ...base, width: 250 }))).toBe('INVALID_SIZE');
    expect(await codeOf(engine.generate({ jobId: 'bad2', ...base, steps: 0 }))).toBe('INVALID_STEPS');
    expect(await codeOf(engine.generate({ jobId: 'bad3', ...base, seed: -5 }))).toBe('INVALID_SEED');
    expect(await codeOf(engine.generate({ jobId: 'good', ...base }))).toBe('no error');
  });
});

describe('models without T5, and broken model folders', () => {
  it('runs a pack without T5 (zeros in its place) and differs from the T5 one', async () => {
    const a = createNodeEngine();
    const info = await a.load({ modelId: 'tiny-sd3-no-t5', baseUrl: NO_T5 });
    expect(info.hasT5).toBe(false);
    const noT5 = await a.generate({ jobId: 'n', ...base });
    await a.unload();
    const b = createNodeEngine();
    await b.load({ modelId: 'tiny-sd3', baseUrl: WITH_T5 });
    const withT5 = await b.generate({ jobId: 'w', ...base });
    await b.unload();
    expect(Buffer.from(noT5.image.rgba).equals(Buffer.from(withT5.image.rgba))).toBe(false);
  });

  it('errors: unknown model, not loaded, missing files, bad manifest field', async () => {
    const e = createNodeEngine();
    expect(await codeOf(e.load({ modelId: 'nope', baseUrl: WITH_T5 }))).toBe('MODEL_UNKNOWN');
    expect(await codeOf(e.generate({ jobId: 'x', ...base }))).toBe('MODEL_NOT_LOADED');
    expect(await codeOf(e.load({ modelId: 'tiny-sd3', baseUrl: '/nonexistent/model' }))).toBe('MODEL_FILE_MISSING');

    const dir = await mkdtemp(join(tmpdir(), 'wd-bad-'));
    try {
      await cp(WITH_T5, dir, { recursive: true });
      const packPath = join(dir, 'pack.json');
      const pack = JSON.parse(await readFile(packPath, 'utf8'));
      await writeFile(packPath, JSON.stringify({ ...pack, architecture: { ...pack.architecture, patchSize: 'two' } }));
      try {
        await e.load({ modelId: 'tiny-sd3', baseUrl: dir });
        expect.unreachable();
      } catch (err) {
        expect((err as WebDiffusionError).code).toBe('MODEL_INVALID');
        expect((err as WebDiffusionError).message).toContain('pack.json');
        expect((err as WebDiffusionError).message).toContain('architecture.patchSize');
      }
      // A half-installed model (external data missing) fails clearly, and nothing stays loaded.
      await writeFile(packPath, JSON.stringify(pack));
      await rm(join(dir, 'vae_decoder/model.onnx_data'));
      expect(await codeOf(e.load({ modelId: 'tiny-sd3', baseUrl: dir }))).toBe('MODEL_FILE_MISSING');
      expect(e.model).toBeNull();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('finds external data from the graph itself', async () => {
    const bytes = new Uint8Array(await readFile(join(WITH_T5, 'transformer/model.onnx')));
    expect(externalDataLocations(bytes)).toEqual(['model.onnx_data']);
    expect(() => externalDataLocations(Uint8Array.from([1, 2, 3, 255, 255]))).toThrow(/not a valid ONNX/);
  });
});

describe('errors across the worker boundary', () => {
  it('keep their code, hint and details through Comlink', async () => {
    installErrorTransfer(Comlink);
    const { port1, port2 } = new MessageChannel();
    Comlink.expose(
      {
        fail() {
          throw new WebDiffusionError('INVALID_SIZE', 'Width 250 is not supported.', { hint: 'Try 240.', details: { field: 'width' } });
        },
        crash() {
          throw new TypeError('boom');
        },
      },
      port1 as unknown as Comlink.Endpoint,
    );
    const remote = Comlink.wrap<{ fail(): void; crash(): void }>(port2 as unknown as Comlink.Endpoint);
    try {
      await remote.fail();
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(WebDiffusionError);
      expect(e).toMatchObject({ code: 'INVALID_SIZE', hint: 'Try 240.', details: { field: 'width' } });
    }
    await expect(remote.crash()).rejects.toMatchObject({ code: 'INTERNAL', message: 'boom' });
    port1.close();
    port2.close();
  });
});
