/**
 * The converter driver end to end: optimum and Olive-like fixtures → packs that validate and generate
 * on onnxruntime-node; an HTTP source (byte ranges) gives byte-identical packs; resumability; clear
 * errors for servers without Range support, unmappable graphs and missing files.
 */
import { createReadStream } from 'node:fs';
import { cp, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertToPack, CONVERT_STATE_FILE, type ConvertOptions } from '../src/convert/convert.js';
import { folderSink } from '../src/convert/folder-sink.js';
import { folderSource } from '../src/convert/folder-source.js';
import { renameTensors } from '../src/convert/layouts.js';
import type { PackSink } from '../src/convert/pack-sink.js';
import { httpSource } from '../src/convert/sources.js';
import { createNodeEngine } from '../src/engine/node-engine.js';
import { DEFAULT_FIXTURE } from '../src/fixtures/fixture-config.js';
import { writeOliveFixture } from '../src/fixtures/write-olive-fixture.js';
import { writeFixture } from '../src/fixtures/write-fixture.js';
import { parsePackManifest, type PackManifest } from '../src/models/pack-manifest.js';
import { PromptTokenizer } from '../src/text/tokenize.js';
import { errorOf } from './helpers.js';

const { onnx } = onnxProto;

let root: string;
let optimum: string;
let olive: string;
const servers: Server[] = [];
const BASE: ConvertOptions = { variants: ['q4', 'q4f16'], id: 'tiny-sd3-q4', name: 'test', license: { name: 'Apache-2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' } };

async function listFiles(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const full = join(e.parentPath, e.name);
    out.set(relative(dir, full), await readFile(full));
  }
  return out;
}

/** Serves `dir` on 127.0.0.1 with HEAD and (unless `ignoreRange`) single byte ranges. */
async function serve(dir: string, ignoreRange = false): Promise<string> {
  const server = createServer(async (req, res) => {
    const path = join(dir, decodeURIComponent(new URL(req.url!, 'http://x').pathname));
    let size: number;
    try {
      const s = await stat(path);
      if (!s.isFile()) throw new Error('not a file');
      size = s.size;
    } catch {
      res.writeHead(404).end();
      return;
    }
    const m = (req.headers.range ?? '').match(/^bytes=(\d+)-(\d+)$/);
    if (m && !ignoreRange) {
      const start = Number(m[1]);
      const end = Math.min(Number(m[2]), size - 1);
      if (start >= size) {
        res.writeHead(416, { 'Content-Range': `bytes */${size}` }).end();
        return;
      }
      res.writeHead(206, { 'Content-Range': `bytes ${start}-${end}/${size}`, 'Content-Length': end - start + 1, 'Accept-Ranges': 'bytes' });
      if (req.method === 'HEAD') res.end();
      else createReadStream(path, { start, end }).pipe(res);
      return;
    }
    res.writeHead(200, { 'Content-Length': size });
    if (req.method === 'HEAD') res.end();
    else createReadStream(path).pipe(res);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

async function generate(packDir: string): Promise<{ variant: string; rgba: Uint8ClampedArray | Uint8Array }> {
  const engine = createNodeEngine();
  try {
    const info = await engine.load({ modelId: 'tiny-sd3-q4', baseUrl: packDir });
    const r = await engine.generate({ jobId: 'j', prompt: 'a photo of a cat', width: 64, height: 64, steps: 2, guidance: 4.5, seed: 3 });
    expect(r.image.rgba.length).toBe(64 * 64 * 4);
    return { variant: info.variant, rgba: r.image.rgba };
  } finally {
    await engine.unload();
  }
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'convert-test-'));
  optimum = join(root, 'optimum');
  olive = join(root, 'olive');
  await writeFixture(optimum, DEFAULT_FIXTURE);
  await writeOliveFixture(olive, DEFAULT_FIXTURE);
}, 60_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  await rm(root, { recursive: true, force: true });
});

describe('convertToPack', () => {
  let manifestA: PackManifest;
  const outA = () => join(root, 'pack-optimum');

  it('converts the optimum fixture into a valid pack that generates on onnxruntime-node', async () => {
    const phases = new Set<string>();
    manifestA = await convertToPack(folderSource(optimum), folderSink(outA()), { ...BASE, onProgress: (e) => phases.add(e.phase) });
    const onDisk = parsePackManifest(JSON.parse(await readFile(join(outA(), 'pack.json'), 'utf8')));
    expect(onDisk).toEqual(manifestA);
    expect(onDisk.source.layout).toBe('optimum');
    expect([...phases]).toEqual(expect.arrayContaining(['reading', 'converting', 'copying', 'done']));
    const t = onDisk.components.transformer;
    expect(t.inputs).toEqual(['hidden_states', 'encoder_hidden_states', 'pooled_projections', 'timestep']);
    expect(t.outputs).toEqual(['out_hidden_states']);
    expect(t.variants.q4!.files.map((f) => f.path)).toEqual(['transformer/model_q4.onnx', 'transformer/model_q4.onnx_data']);
    expect(t.variants.q4!.requiresFeatures).toEqual([]);
    expect(t.variants.q4f16!.requiresFeatures).toEqual(['shader-f16']);
    expect(onDisk.architecture).toMatchObject({ hasT5: true, sampleSize: { min: 64, max: 768, default: 256 }, clipLayers: { text_encoder: 2, text_encoder_2: 3 } });
    // Every listed file exists with its size; the graphs point only at their own shards.
    const { createHash } = await import('node:crypto');
    for (const c of Object.values(onDisk.components)) {
      for (const v of Object.values(c!.variants)) {
        for (const f of v!.files) {
          const data = await readFile(join(outA(), f.path));
          expect([data.byteLength, createHash('sha256').update(data).digest('hex')]).toEqual([f.bytes, f.sha256]);
        }
      }
    }
    const g = await generate(outA());
    expect(g.variant).toBe('q4');
  });

  it('converts the Olive-like fixture (unet/, model.onnx.data, other names, com.microsoft QuickGelu, vocab+merges)', async () => {
    const out = join(root, 'pack-olive');
    const m = await convertToPack(folderSource(olive), folderSink(out), { ...BASE, variants: ['q4'] });
    expect(m.source.layout).toBe('olive');
    expect(m.components.transformer.inputs).toEqual(['hidden_states', 'encoder_hidden_states', 'pooled_projections', 'timestep']);
    expect(m.components.transformer.outputs).toEqual(['out_hidden_states']);
    expect(m.components.vae_encoder!.outputs).toEqual(['latent_parameters']);
    // Same weights → the same transformer shard as from the optimum export.
    const shardA = manifestA.components.transformer.variants.q4!.files[1]!;
    expect(m.components.transformer.variants.q4!.files[1]).toEqual(shardA);
    const clip = onnx.ModelProto.decode(await readFile(join(out, 'text_encoder/model_q4.onnx')));
    expect(clip.graph!.node!.some((n) => n.opType === 'QuickGelu' && n.domain === 'com.microsoft')).toBe(true);
    // tokenizer.json rebuilt from vocab.json + merges.txt tokenizes like the original; the pad rule is filled in.
    for (const t of ['tokenizer', 'tokenizer_2']) {
      const read = async (dir: string, f: string) => JSON.parse(await readFile(join(dir, t, f), 'utf8')) as object;
      const mine = PromptTokenizer.fromJson(await read(out, 'tokenizer.json'), await read(out, 'tokenizer_config.json'));
      const ref = PromptTokenizer.fromJson(await read(optimum, 'tokenizer.json'), await read(optimum, 'tokenizer_config.json'));
      const p = 'A watercolor painting of a futuristic city, 8k!';
      expect(mine.encode(p)).toEqual(ref.encode(p));
    }
    const g = await generate(out);
    expect(g.variant).toBe('q4');
  });

  it('splits external data into shards of at most shardBytes, which the graph references', async () => {
    const out = join(root, 'pack-shards');
    const shardBytes = 64 * 1024;
    const m = await convertToPack(folderSource(optimum), folderSink(out), { ...BASE, variants: ['q4'], shardBytes });
    const files = m.components.transformer.variants.q4!.files;
    expect(files.length).toBeGreaterThan(3);
    expect(files.slice(1).map((f) => f.path)).toEqual(files.slice(1).map((_, i) => `transformer/model_q4.onnx_data${i ? `_${i}` : ''}`));
    const model = onnx.ModelProto.decode(await readFile(join(out, files[0]!.path)));
    const used = new Map<string, number>();
    for (const t of model.graph!.initializer!) {
      const e = Object.fromEntries((t.externalData ?? []).map((x) => [x.key, x.value]));
      if (!e.location) continue;
      used.set(e.location, (used.get(e.location) ?? 0) + 1);
      const shard = files.find((f) => f.path === `transformer/${e.location}`)!;
      expect(Number(e.offset) + Number(e.length)).toBeLessThanOrEqual(shard.bytes);
    }
    expect([...used.keys()].sort()).toEqual(files.slice(1).map((f) => f.path.slice('transformer/'.length)).sort());
    // A shard exceeds the limit only when it holds a single larger tensor.
    for (const f of files.slice(1)) if (f.bytes > shardBytes) expect(used.get(f.path.slice('transformer/'.length))).toBe(1);
    expect((await generate(out)).variant).toBe('q4');
  });

  it('converts from an HTTP source by byte ranges into byte-identical files', async () => {
    const base = await serve(optimum);
    const out = join(root, 'pack-http');
    await convertToPack(httpSource(base, { backoffMs: 10 }), folderSink(out), BASE);
    const a = await listFiles(outA());
    const b = await listFiles(out);
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    for (const [path, data] of a) {
      if (path === CONVERT_STATE_FILE || path === 'pack.json') continue;
      expect(b.get(path)!.equals(data), path).toBe(true);
    }
    // The manifests differ only in where the weights came from.
    const mb = JSON.parse(b.get('pack.json')!.toString('utf8')) as PackManifest;
    expect(mb.source.repository).toBe(base);
    expect({ ...mb, source: manifestA.source }).toEqual(manifestA);
  });

  it('refuses a server that ignores Range with a clear error', async () => {
    const base = await serve(optimum, true);
    const e = await errorOf(convertToPack(httpSource(base, { backoffMs: 1 }), folderSink(join(root, 'pack-norange')), BASE));
    expect(e.code).toBe('MODEL_FILE_MISSING');
    expect(e.message).toMatch(/ignored the byte-range request \(HTTP 200/);
  });

  it('retries transient HTTP failures', async () => {
    let failures = 2;
    const base = await serve(optimum);
    const flaky: typeof fetch = async (input, init) => {
      if (failures > 0) {
        failures--;
        return new Response('busy', { status: 503 });
      }
      return fetch(input, init);
    };
    const src = httpSource(base, { fetch: flaky, backoffMs: 1 });
    expect(await src.readRange('transformer/model.onnx_data', 10, 20)).toEqual(new Uint8Array((await readFile(join(optimum, 'transformer/model.onnx_data'))).subarray(10, 30)));
    expect(failures).toBe(0);
    expect(await src.size('nope/model.onnx')).toBeNull();
  });

  it('resumes an interrupted conversion: same pack, fewer bytes written', async () => {
    const out = join(root, 'pack-resume');
    const counting = (limit: number | null): PackSink & { bytes: number; files: number } => {
      const inner = folderSink(out);
      const s = {
        ...inner,
        bytes: 0,
        files: 0,
        async write(path: string, data: Parameters<PackSink['write']>[1]) {
          if (path !== CONVERT_STATE_FILE) {
            if (limit !== null && s.files >= limit) throw new Error('simulated crash');
            s.files++;
          }
          const r = await inner.write(path, data);
          if (path !== CONVERT_STATE_FILE) s.bytes += r.bytes;
          return r;
        },
      };
      return s;
    };
    const first = counting(9);
    await expect(convertToPack(folderSource(optimum), first, BASE)).rejects.toThrow('simulated crash');
    await expect(stat(join(out, 'pack.json'))).rejects.toThrow();
    const second = counting(null);
    const m = await convertToPack(folderSource(optimum), second, BASE);
    expect(m).toEqual(manifestA);
    expect(await readFile(join(out, 'pack.json'))).toEqual(await readFile(join(outA(), 'pack.json')));
    const all = await listFiles(outA());
    const total = all.size - 2; // minus pack.json and the state file
    expect(second.files).toBe(total - 9 + 1); // the rest, and pack.json
    const fullBytes = [...all.entries()].filter(([p]) => p !== CONVERT_STATE_FILE).reduce((n, [, d]) => n + d.byteLength, 0);
    expect(first.bytes + second.bytes).toBe(fullBytes);
    expect(second.bytes).toBeLessThan(fullBytes);
    // A third run writes nothing but the manifest.
    const third = counting(null);
    await convertToPack(folderSource(optimum), third, BASE);
    expect(third.files).toBe(1);
  });

  it('names the tensor of an unmappable graph', async () => {
    const src = join(root, 'bad-names');
    await cp(optimum, src, { recursive: true });
    const file = join(src, 'transformer/model.onnx');
    const model = onnx.ModelProto.decode(await readFile(file));
    renameTensors(model, new Map([['timestep', 'garbage_input']]));
    await writeFile(file, onnx.ModelProto.encode(model).finish());
    const e = await errorOf(convertToPack(folderSource(src), folderSink(join(root, 'pack-bad')), BASE));
    expect(e.code).toBe('MODEL_INVALID');
    expect(e.message).toContain('transformer');
    expect(e.message).toContain('"garbage_input"');
  });

  it('reports a missing source file by name', async () => {
    const src = join(root, 'missing');
    await cp(optimum, src, { recursive: true });
    await rm(join(src, 'vae_decoder/model.onnx_data'));
    const e = await errorOf(convertToPack(folderSource(src), folderSink(join(root, 'pack-missing')), BASE));
    expect(e.code).toBe('MODEL_FILE_MISSING');
    expect(e.message).toContain('vae_decoder/model.onnx_data');
  });
});
