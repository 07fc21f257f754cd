/** freeDimensionOverrides derived from the graphs' own axis names (the fixture pack has the export's names). */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { componentShapes } from '../src/diffusion/text-to-image.js';
import { DEFAULT_FIXTURE } from '../src/fixtures/fixture-config.js';
import { writeFixture } from '../src/fixtures/write-fixture.js';
import { configFromManifest } from '../src/models/sd3-config.js';
import { parsePackManifest } from '../src/models/pack-manifest.js';
import { describeGraph, freeDimensionOverrides, overridesKey } from '../src/runtime/static-shapes.js';

let PACK: string;
const graph = async (component: string) => describeGraph(await readFile(`${PACK}/${component}/model.onnx`));

beforeAll(async () => {
  PACK = join(await mkdtemp(join(tmpdir(), 'wd-shapes-')), 'tiny-sd3');
  await writeFixture(PACK, DEFAULT_FIXTURE);
}, 120_000);
afterAll(() => rm(join(PACK, '..'), { recursive: true, force: true }));

describe('static shapes', () => {
  it('reads the transformer inputs’ symbolic axes and its hidden width', async () => {
    const g = await graph('transformer');
    expect(g.inputs).toEqual([
      { name: 'hidden_states', dims: ['batch_size', 16, 'height', 'width'] },
      { name: 'encoder_hidden_states', dims: ['batch_size', 'sequence_length', DEFAULT_FIXTURE.transformer.jointAttentionDim] },
      { name: 'pooled_projections', dims: ['batch_size', DEFAULT_FIXTURE.transformer.pooledProjectionDim] },
      { name: 'timestep', dims: ['step'] },
    ]);
    const t = DEFAULT_FIXTURE.transformer;
    expect(g.patchEmbedWidth).toBe(t.heads * t.headDim);
  });

  it('pins every component for a 256×192 request with guidance as one batch-2 run', async () => {
    const manifest = parsePackManifest(JSON.parse(await readFile(`${PACK}/pack.json`, 'utf8')));
    const shapes = componentShapes(configFromManifest(manifest), 256, 192, 2);
    expect(freeDimensionOverrides((await graph('transformer')).inputs, shapes.transformer)).toEqual({
      overrides: { batch_size: 2, height: 24, width: 32, sequence_length: 333, step: 2 },
      conflicts: [],
    });
    expect(freeDimensionOverrides((await graph('vae_decoder')).inputs, shapes.vae_decoder).overrides).toEqual({ batch_size: 1, latent_height: 24, latent_width: 32 });
    expect(freeDimensionOverrides((await graph('text_encoder_3')).inputs, shapes.text_encoder_3).overrides).toEqual({ batch_size: 1, sequence_length: 256 });
    expect(freeDimensionOverrides((await graph('text_encoder')).inputs, shapes.text_encoder).overrides).toEqual({ batch_size: 1, sequence_length: 77 });
  });

  it('an axis fed two sizes stays free; inputs of another rank or without a shape pin nothing', () => {
    const inputs = [
      { name: 'a', dims: ['n', 'm', 4] },
      { name: 'b', dims: ['n', 'k'] },
      { name: 'c', dims: ['z'] },
    ];
    expect(freeDimensionOverrides(inputs, { a: [2, 3, 4], b: [5, 6] })).toEqual({ overrides: { m: 3, k: 6 }, conflicts: ['n'] });
    expect(freeDimensionOverrides(inputs, { a: [2, 3], c: [] }).overrides).toEqual({});
  });

  it('override keys do not depend on insertion order', () => {
    expect(overridesKey({ b: 1, a: 2 })).toBe(overridesKey({ a: 2, b: 1 }));
    expect(overridesKey({ a: 2 })).not.toBe(overridesKey({ a: 3 }));
  });
});
