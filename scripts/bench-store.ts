/**
 * Weight-store benchmark (not part of npm test): serves a generated pack of more than 1 GB from a
 * local pack server and, in headless Chromium (the app's worker setup: store and onnxruntime-web in
 * a worker, cross-origin isolated page), reports
 *   - install throughput (download into IndexedDB chunks, hashed while streaming) vs a plain fetch
 *     of the same bytes,
 *   - load-from-store-to-session-ready vs a session created from buffers already in memory,
 *   - peak memory of the browser's processes during install, above idle (must stay < 512 MB).
 *
 *   npm run bench:store -- [--mib 1024] [--dir .fixtures/bench-store] [--rebuild] [--formats blob,bytes] [--chunk-mib 64] [--install-only]
 *
 * The pack: pack.json (the demo fixture's, with its id changed) plus one ONNX graph (a chain of
 * 4096×4096 fp32 MatMuls) whose weights sit in two external-data shards of up to 512 MiB each.
 */
import { chromium } from '@playwright/test';
import { createHash, randomFillSync } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, open, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import onnxProto from 'onnx-proto';
import sirv from 'sirv';
import { build } from 'vite';
import { BASE_ARGS, requireChromium } from '../e2e/chromium.js';
import { startPackServer } from '../e2e/pack-server.js';
import { DEFAULT_FIXTURE } from '../src/fixtures/fixture-config.js';
import { buildFixtureFiles } from '../src/fixtures/write-fixture.js';
import type { PackFile } from '../src/models/pack-manifest.js';

const { onnx } = onnxProto;
const ROOT = resolve(import.meta.dirname, '..');
const MODEL_ID = 'bench-store';
const SIDE = 4096;
const TENSOR = SIDE * SIDE * 4; // 64 MiB
const SHARD = 512 * 1024 * 1024;
const RSS_LIMIT = 512 * 1024 * 1024;

const args = process.argv.slice(2);
const opt = (k: string, d: string) => (args.includes(k) ? args[args.indexOf(k) + 1]! : d);
const mib = Number(opt('--mib', '1024'));
const dir = resolve(ROOT, opt('--dir', '.fixtures/bench-store'));
const rebuild = args.includes('--rebuild');
/** Only the install and its memory (no onnxruntime sessions): for packs too large for one wasm session. */
const installOnly = args.includes('--install-only');
const chunkMiB = Number(opt('--chunk-mib', '64'));
const formats = (opt('--formats', 'blob,bytes').split(',') as ('blob' | 'bytes')[]).filter((f) => f === 'blob' || f === 'bytes');

async function makePack(): Promise<PackFile[]> {
  const metaPath = join(dir, 'files.json');
  if (!rebuild && existsSync(metaPath)) {
    const files = JSON.parse(readFileSync(metaPath, 'utf8')) as PackFile[];
    if (files.reduce((s, f) => s + f.bytes, 0) >= mib * 1024 * 1024) return files;
  }
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, 'big'), { recursive: true });
  const tensors = Math.ceil((mib * 1024 * 1024) / TENSOR);
  const perShard = SHARD / TENSOR;
  const shardName = (i: number) => (i === 0 ? 'model.onnx_data' : `model.onnx_data_${i}`);
  const initializer: onnxProto.onnx.ITensorProto[] = [];
  const nodes: onnxProto.onnx.INodeProto[] = [];
  const files: PackFile[] = [];
  const block = Buffer.alloc(TENSOR);
  for (let s = 0; s * perShard < tensors; s++) {
    const fh = await open(join(dir, 'big', shardName(s)), 'w');
    const h = createHash('sha256');
    let offset = 0;
    for (let t = s * perShard; t < Math.min(tensors, (s + 1) * perShard); t++) {
      randomFillSync(block);
      // Finite floats: keep the exponent small.
      for (let i = 3; i < block.length; i += 4) block[i] = block[i]! & 0x3e;
      await fh.write(block);
      h.update(block);
      initializer.push({
        name: `w${t}`,
        dims: [SIDE, SIDE],
        dataType: onnx.TensorProto.DataType.FLOAT,
        dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
        externalData: [
          { key: 'location', value: shardName(s) },
          { key: 'offset', value: String(offset) },
          { key: 'length', value: String(TENSOR) },
        ],
      });
      nodes.push({ opType: 'MatMul', input: [t === 0 ? 'x' : `h${t - 1}`, `w${t}`], output: [t === tensors - 1 ? 'y' : `h${t}`], name: `mm${t}` });
      offset += TENSOR;
    }
    await fh.close();
    files.push({ path: `big/${shardName(s)}`, bytes: offset, sha256: h.digest('hex') });
  }
  const vi = (name: string) => ({ name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimValue: 1 }, { dimValue: SIDE }] } } } });
  const model = onnx.ModelProto.encode({ irVersion: 8, producerName: 'bench-store', opsetImport: [{ domain: '', version: 18 }], graph: { name: 'bench', node: nodes, input: [vi('x')], output: [vi('y')], initializer } }).finish();
  await writeFile(join(dir, 'big', 'model.onnx'), model);
  files.unshift({ path: 'big/model.onnx', bytes: model.byteLength, sha256: createHash('sha256').update(model).digest('hex') });
  const manifest = JSON.parse(new TextDecoder().decode(buildFixtureFiles(DEFAULT_FIXTURE).get('pack.json')));
  await writeFile(join(dir, 'pack.json'), JSON.stringify({ ...manifest, id: MODEL_ID, name: 'Store benchmark pack' }));
  await writeFile(metaPath, JSON.stringify(files));
  return files;
}

/** Proportional set size (PSS) of a process's descendants, not itself (Linux /proc): here, the browser Playwright started. */
function treeRss(rootPid: number): number {
  const children = new Map<number, number[]>();
  const rss = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const pid = Number(name);
      const ppid = Number(fields[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), pid]);
      // PSS: shared pages (zygote, shared-memory blob transport) counted once across processes.
      const rollup = readFileSync(`/proc/${name}/smaps_rollup`, 'utf8');
      rss.set(pid, Number(rollup.match(/^Pss:\s+(\d+)/m)?.[1] ?? 0) * 1024);
    } catch {
      /* gone */
    }
  }
  let total = 0;
  const stack = [...(children.get(rootPid) ?? [])];
  while (stack.length) {
    const p = stack.pop()!;
    total += rss.get(p) ?? 0;
    stack.push(...(children.get(p) ?? []));
  }
  return total;
}

const fmt = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MiB`;

async function main(): Promise<void> {
  const files = await makePack();
  const total = files.reduce((s, f) => s + f.bytes, 0);
  console.log(`bench-store: pack of ${fmt(total)} in ${dir}`);
  const out = join(ROOT, 'bench-results', 'bench-store-page');
  await build({
    configFile: false,
    root: join(ROOT, 'scripts/bench-store'),
    base: './',
    publicDir: false,
    logLevel: 'warn',
    optimizeDeps: { exclude: ['onnxruntime-web'] },
    worker: { format: 'es' },
    build: { outDir: out, emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 8192 },
  });
  const assets = sirv(out, {
    dev: false,
    setHeaders(res) {
      res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
      res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    },
  });
  const app = createServer((req, res) => assets(req, res, () => void res.writeHead(404).end()));
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', () => r()));
  const appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}/`;
  const packs = await startPackServer({ root: dir });

  const browser = await chromium.launch({ executablePath: requireChromium(), args: BASE_ARGS, headless: true });
  const page = await browser.newPage();
  await page.goto(appUrl);
  await page.waitForFunction(() => 'bench' in window);
  const step = <T>(name: string, format: 'blob' | 'bytes' = 'blob') =>
    page.evaluate(({ name, a }) => (window as unknown as { bench: (s: string, a: unknown) => Promise<unknown> }).bench(name, a), {
      name,
      a: { base: packs.url, modelId: MODEL_ID, files, format, chunkMiB },
    }) as Promise<T>;
  const rssNow = () => treeRss(process.pid);
  const settle = () => new Promise((r) => setTimeout(r, 2000));

  const fetchRun = await step<{ ms: number; bytes: number }>('plainFetch');
  if (!installOnly) await step('loadFromMemory'); // warm-up: onnxruntime's wasm compiled and its heap grown
  const runs: Record<string, { install: { ms: number; bytes: number }; load: { ms: number; readMs: number }; idle: number; peak: number }> = {};
  for (const format of formats) {
    await settle();
    const idle = rssNow();
    let peak = idle;
    const sampler = setInterval(() => (peak = Math.max(peak, rssNow())), 200);
    const installRun = await step<{ ms: number; bytes: number }>('install', format);
    clearInterval(sampler);
    peak = Math.max(peak, rssNow());
    const load = installOnly ? { ms: NaN, readMs: NaN } : await step<{ ms: number; readMs: number }>('loadFromStore', format);
    await step('cleanup', format);
    runs[format] = { install: installRun, load, idle, peak };
  }
  const memRun = installOnly ? { ms: NaN } : await step<{ ms: number }>('loadFromMemory');
  await browser.close();
  await packs.close();
  app.close();

  const mbps = (bytes: number, ms: number) => bytes / 1024 / 1024 / (ms / 1000);
  const result = {
    packBytes: total,
    chunkMiB,
    plainFetch: { ms: Math.round(fetchRun.ms), MiBps: +mbps(fetchRun.bytes, fetchRun.ms).toFixed(1) },
    sessionFromMemory: { ms: Math.round(memRun.ms) },
    formats: Object.fromEntries(
      Object.entries(runs).map(([format, r]) => [
        format,
        {
          install: { ms: Math.round(r.install.ms), MiBps: +mbps(r.install.bytes, r.install.ms).toFixed(1) },
          installVsFetchThroughput: +(fetchRun.ms / r.install.ms).toFixed(3),
          sessionFromStore: { ms: Math.round(r.load.ms), readMs: Math.round(r.load.readMs) },
          storeVsMemoryLoadTime: +(r.load.ms / memRun.ms).toFixed(3),
          memory: { idleBytes: r.idle, peakDuringInstallBytes: r.peak, aboveIdleBytes: r.peak - r.idle, limitBytes: RSS_LIMIT, ok: r.peak - r.idle < RSS_LIMIT },
        },
      ]),
    ),
  };
  await mkdir(join(ROOT, 'bench-results'), { recursive: true });
  await writeFile(join(ROOT, 'bench-results', 'bench-store.json'), JSON.stringify(result, null, 2));
  console.log(`plain fetch:          ${fmt(total)} in ${(fetchRun.ms / 1000).toFixed(2)} s (${result.plainFetch.MiBps} MiB/s)`);
  console.log(`session from memory:  ${(memRun.ms / 1000).toFixed(2)} s`);
  let failed = false;
  for (const [format, r] of Object.entries(result.formats)) {
    console.log(`[${format} chunks] install:           ${(r.install.ms / 1000).toFixed(2)} s (${r.install.MiBps} MiB/s) → ${r.installVsFetchThroughput}× plain-fetch throughput`);
    console.log(`[${format} chunks] session from store: ${(r.sessionFromStore.ms / 1000).toFixed(2)} s (reading ${(r.sessionFromStore.readMs / 1000).toFixed(2)} s) → ${r.storeVsMemoryLoadTime}× the in-memory time`);
    console.log(`[${format} chunks] browser memory:    idle ${fmt(r.memory.idleBytes)}, install peak ${fmt(r.memory.peakDuringInstallBytes)} → +${fmt(r.memory.aboveIdleBytes)} (limit +${fmt(RSS_LIMIT)}: ${r.memory.ok ? 'ok' : 'EXCEEDED'})`);
    if (!r.memory.ok) failed = true;
  }
  if (failed) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
