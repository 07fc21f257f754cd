/**
 * Importing from a local folder (files as Blobs, as the browser hands them over): a pack is
 * verified against its pack.json and installed through the downloader's path; an export is
 * converted on import (byte-identical to converting the same files from a Node folder); and the
 * space check before convert-while-downloading refuses with STORAGE_FULL before any byte is written.
 */
import 'fake-indexeddb/auto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPackServer, type PackServer } from '../e2e/pack-server.js';
import { convertToPack } from '../src/convert/convert.js';
import { fileListFetch, fileListSource } from '../src/convert/file-list-source.js';
import { folderSource } from '../src/convert/folder-source.js';
import { memorySink } from '../src/convert/pack-sink.js';
import { PackInstaller, type PackInstallerOptions } from '../src/engine/pack-installer.js';
import { DEFAULT_FIXTURE } from '../src/fixtures/fixture-config.js';
import { buildOliveFixtureFiles, writeOliveFixture } from '../src/fixtures/write-olive-fixture.js';
import { buildFixtureFiles } from '../src/fixtures/write-fixture.js';
import type { LocalFile, ProgressEvent } from '../src/protocol.js';
import { localLocks } from '../src/storage/downloader.js';
import { WeightStore } from '../src/storage/weight-store.js';
import { errorOf, sha } from './helpers.js';

const WASM = { kind: 'wasm', shaderF16: false } as const;
const fixture = buildFixtureFiles(DEFAULT_FIXTURE);
const MODEL = JSON.parse(new TextDecoder().decode(fixture.get('pack.json'))).id as string;

const asLocal = (files: Map<string, Uint8Array>): LocalFile[] => [...files].map(([path, data]) => ({ path, file: new Blob([data as Uint8Array<ArrayBuffer>]) }));
const without = (files: Map<string, Uint8Array>, drop: string) => new Map([...files].filter(([p]) => p !== drop));

let n = 0;
const setup = (storage: PackInstallerOptions['storage'] = null) => {
  const store = new WeightStore({ name: `folder-${++n}`, chunkBytes: 64 * 1024 });
  return { store, installer: new PackInstaller(store, { storage, locks: localLocks() }) };
};

describe('the file-list source', () => {
  it('reads sizes, whole files and ranges from Blobs; a missing file is MODEL_FILE_MISSING', async () => {
    const src = fileListSource(asLocal(fixture));
    const data = fixture.get('transformer/model.onnx_data')!;
    expect(await src.size('transformer/model.onnx_data')).toBe(data.byteLength);
    expect(await src.size('nope')).toBeNull();
    expect(sha(await src.readRange('transformer/model.onnx_data', 100, 4000))).toBe(sha(data.subarray(100, 4100)));
    expect((await errorOf(src.read('nope'))).code).toBe('MODEL_FILE_MISSING');
    expect((await errorOf(src.readRange('transformer/model.onnx_data', data.byteLength - 2, 10))).code).toBe('MODEL_FILE_MISSING');
  });

  it('fileListFetch answers like a static server: 200, 206 from an offset, 404', async () => {
    const f = fileListFetch(asLocal(fixture), 'https://local-folder.invalid/');
    const data = fixture.get('text_encoder/model.onnx')!;
    const whole = await f('https://local-folder.invalid/text_encoder/model.onnx');
    expect(whole.status).toBe(200);
    expect(sha(new Uint8Array(await whole.arrayBuffer()))).toBe(sha(data));
    const part = await f('https://local-folder.invalid/text_encoder/model.onnx', { headers: { Range: 'bytes=10-' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 10-${data.byteLength - 1}/${data.byteLength}`);
    expect(sha(new Uint8Array(await part.arrayBuffer()))).toBe(sha(data.subarray(10)));
    expect((await f('https://local-folder.invalid/missing')).status).toBe(404);
    expect((await f('https://elsewhere.example/text_encoder/model.onnx')).status).toBe(404);
  });

  it('converting an Olive export from Blobs gives the same pack as from a folder on disk', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wd-olive-'));
    try {
      await writeOliveFixture(dir, DEFAULT_FIXTURE);
      const a = memorySink();
      const b = memorySink();
      await convertToPack(folderSource(dir), a, { variants: ['q4'], id: 'x' });
      await convertToPack(fileListSource(asLocal(buildOliveFixtureFiles(DEFAULT_FIXTURE))), b, { variants: ['q4'], id: 'x' });
      expect([...b.files.keys()].sort()).toEqual([...a.files.keys()].sort());
      for (const [p, d] of a.files) if (p !== '.convert-state.json') expect(sha(b.files.get(p)!), p).toBe(sha(d));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('import from a folder', () => {
  it('a pack folder: the files this device needs are verified and installed, with progress; source is the folder', async () => {
    const { store, installer } = setup();
    const events: ProgressEvent[] = [];
    const info = await installer.installFromFolder({ modelId: MODEL, folderName: 'tiny-sd3', files: asLocal(fixture) }, WASM, (e) => events.push(e));
    expect(info).toMatchObject({ id: MODEL, state: 'installed', source: { kind: 'folder', folderName: 'tiny-sd3' } });
    expect(await installer.isInstalledFor(MODEL, WASM)).toBe(true);
    expect((await store.verifyPack(MODEL)).ok).toBe(true);
    expect(sha(await store.readFile(MODEL, 'transformer/model.onnx_data'))).toBe(sha(fixture.get('transformer/model.onnx_data')!));
    expect(await store.getFile(MODEL, 'vae_encoder/model.onnx')).toBeUndefined(); // not needed for text to image
    const last = events.at(-1)!;
    expect(last).toMatchObject({ phase: 'downloading', state: 'done' });
  });

  it('a pack folder with a damaged file: MODEL_FILE_CORRUPT naming the file and the folder; the model is not installed', async () => {
    const { store, installer } = setup();
    const bad = new Map(fixture);
    const data = bad.get('transformer/model.onnx_data')!.slice();
    data[123] = data[123]! ^ 0xff;
    bad.set('transformer/model.onnx_data', data);
    const err = await errorOf(installer.installFromFolder({ modelId: MODEL, folderName: 'copy', files: asLocal(bad) }, WASM));
    expect(err.code).toBe('MODEL_FILE_CORRUPT');
    expect(err.message).toContain('transformer/model.onnx_data');
    expect(err.message).toContain('copy');
    expect((await store.getPack(MODEL))?.state).toBe('installing');
    expect(await store.getFile(MODEL, 'transformer/model.onnx_data')).toBeUndefined();
  });

  it('a pack folder that lacks a listed file: MODEL_FILE_MISSING naming it', async () => {
    const { installer } = setup();
    const err = await errorOf(installer.installFromFolder({ modelId: MODEL, folderName: 'partial', files: asLocal(without(fixture, 'vae_decoder/model.onnx')) }, WASM));
    expect(err.code).toBe('MODEL_FILE_MISSING');
    expect(err.message).toContain('vae_decoder/model.onnx');
  });

  it('a pack folder of another model than asked: MODEL_INVALID', async () => {
    const { installer } = setup();
    expect((await errorOf(installer.installFromFolder({ modelId: 'sd35-medium', folderName: 'x', files: asLocal(fixture) }, WASM))).code).toBe('MODEL_INVALID');
  });

  it('an export folder (no pack.json) is converted on import and installed', async () => {
    const { store, installer } = setup();
    const events: ProgressEvent[] = [];
    const info = await installer.installFromFolder(
      { modelId: 'tiny-sd3-q4', folderName: 'olive-export', files: asLocal(buildOliveFixtureFiles(DEFAULT_FIXTURE)), variants: ['q4'] },
      WASM,
      (e) => events.push(e),
    );
    expect(info).toMatchObject({ id: 'tiny-sd3-q4', state: 'installed', source: { kind: 'folder', folderName: 'olive-export' } });
    expect(info.variants.transformer).toBe('q4');
    expect(events.some((e) => e.phase === 'downloading' && e.state === 'converting')).toBe(true);
    expect((await store.verifyPack('tiny-sd3-q4')).ok).toBe(true);
  });
});

describe('space check before convert-while-downloading', () => {
  let server: PackServer;
  beforeAll(async () => {
    server = await startPackServer({ files: fixture });
  });
  afterAll(async () => {
    await server.close();
  });

  it('not enough space: STORAGE_FULL with needed and available bytes, before any byte is written or any weight read', async () => {
    const storage = { estimate: async () => ({ usage: 1000, quota: 1000 + 200_000 }) };
    const { store, installer } = setup(storage);
    server.resetStats();
    const err = await errorOf(installer.installFromExport({ modelId: 'tiny-sd3-q4', exportUrl: server.url, variants: ['q4'] }, WASM));
    expect(err.code).toBe('STORAGE_FULL');
    const needed = err.details!.neededBytes as number;
    expect(err.details!.availableBytes).toBe(200_000);
    expect(needed).toBeGreaterThan(200_000);
    expect(err.message).toContain(`${needed} bytes`);
    expect(err.message).toContain('200000 bytes');
    // Nothing written: no pack record, no file, no chunk. Only graphs and sizes were read, no tensor ranges.
    expect(await store.getPack('tiny-sd3-q4')).toBeUndefined();
    expect(await store.fileRecords('tiny-sd3-q4')).toEqual([]);
    expect(await store.chunkKeys('tiny-sd3-q4')).toEqual([]);
    expect(server.log.filter((l) => l.method === 'GET' && l.range !== null && l.range !== 'bytes=0-0')).toEqual([]);

    // The estimate is close to what the conversion writes: with enough space it installs, and the
    // pack's size is within 10% of the estimate.
    const roomy = setup({ estimate: async () => ({ usage: 0, quota: 1e12 }) });
    const info = await roomy.installer.installFromExport({ modelId: 'tiny-sd3-q4', exportUrl: server.url, variants: ['q4'] }, WASM);
    const written = (await roomy.store.fileRecords('tiny-sd3-q4')).reduce((s, f) => s + f.bytes, 0);
    expect(info.state).toBe('installed');
    expect(Math.abs(needed - written) / written).toBeLessThan(0.1);
  });
});
