/**
 * Weight-store benchmark (not part of npm test): serves a generated pack of more than 1 GB from a
 * local pack server and, in headless Chromium (the app's worker setup: store and onnxruntime-web in
 * a worker, cross-origin isolated page), reports
 *   - install throughput (download into IndexedDB chunks, hashed while streaming) vs a plain fetch
 *     of the same bytes,
 *   - load-from-store-to-session-ready vs a session created from buffers already in memory,
 *   - peak memory of the browser's processes during install, above idle (must stay < 512 MB),
 *     per kind of process (browser, renderer, utilities), and while every file is read back whole.
 * The browser runs on an on-disk profile, as people's do: an off-the-record one (Playwright's
 * default context) keeps IndexedDB's blob files in memory, which once read as +1.2 GiB per GiB.
 *
 *   npm run bench:store -- [--mib 1024] [--dir .fixtures/bench-store] [--rebuild] [--formats blob,bytes] [--chunk-mib 16] [--shard-mib 512] [--install-only]
 *
 * The pack: pack.json (the demo fixture's, with its id changed) plus one ONNX graph (a chain of
 * 4096×4096 fp32 MatMuls) whose weights sit in external-data shards of up to --shard-mib each
 * (512 MiB, the converter's default; `--shard-mib 2304 --install-only` tests a multi-GiB read-back).
 */
import { chromium } from '@playwright/test';
import { createHash, randomFillSync } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, open, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import onnxProto from 'onnx-proto';
import sirv from 'sirv';
import { build } from 'vite';
import { BASE_ARGS, requireChromium } from '../e2e/chromium.js';
import { startPackServer } from '../e2e/pack-server.js';
import { DEFAULT_FIXTURE } from '../src/fixtures/fixture-config.js';
import { buildFixtureFiles } from '../src/fixtures/write-fixture.js';
import type { PackFile } from '../src/models/pack-manifest.js';
import { DEFAULT_CHUNK_BYTES } from '../src/storage/weight-store.js';

const { onnx } = onnxProto;
const ROOT = resolve(import.meta.dirname, '..');
const MODEL_ID = 'bench-store';
const SIDE = 4096;
const TENSOR = SIDE * SIDE * 4; // 64 MiB
const RSS_LIMIT = 512 * 1024 * 1024;

const args = process.argv.slice(2);
const opt = (k: string, d: string) => (args.includes(k) ? args[args.indexOf(k) + 1]! : d);
const mib = Number(opt('--mib', '1024'));
const dir = resolve(ROOT, opt('--dir', `.fixtures/bench-store-${mib}-${opt('--shard-mib', '512')}`));
const rebuild = args.includes('--rebuild');
/** Only the install and its memory (no onnxruntime sessions): for packs too large for one wasm session. */
const installOnly = args.includes('--install-only');
const chunkMiB = Number(opt('--chunk-mib', String(DEFAULT_CHUNK_BYTES / 1024 / 1024)));
/** Largest external-data file (the converter's default is 512 MiB; larger ones test multi-GiB read-back). */
const SHARD = Number(opt('--shard-mib', '512')) * 1024 * 1024;
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
  const perShard = Math.max(1, Math.floor(SHARD / TENSOR));
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

/** What one process is in Chromium's model, from its command line. */
function processKind(cmdline: string): string {
  const type = cmdline.match(/--type=([\w-]+)/)?.[1];
  if (!type) return 'browser';
  if (type === 'utility') return `utility:${cmdline.match(/--utility-sub-type=([\w.]+)/)?.[1]?.replace(/\.mojom\./, ':') ?? '?'}`;
  return type;
}

interface MemSample {
  /** Proportional set size (PSS) of the browser's processes, summed. */
  total: number;
  /** PSS per process kind (browser, renderer, gpu-process, utility:network:NetworkService, …). */
  byKind: Record<string, number>;
  /** Anonymous / shared-memory PSS (shmem is where Chromium's blob and IPC transport lives). */
  anon: number;
  shmem: number;
}

/**
 * Memory of a process's descendants, not itself (Linux /proc): here, the browser Playwright started.
 * PSS: shared pages (zygote, shared-memory blob transport) counted once across processes.
 */
function treeMemory(rootPid: number): MemSample {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      /* gone */
    }
  }
  const out: MemSample = { total: 0, byKind: {}, anon: 0, shmem: 0 };
  const stack = [...(children.get(rootPid) ?? [])];
  while (stack.length) {
    const p = stack.pop()!;
    stack.push(...(children.get(p) ?? []));
    try {
      const rollup = readFileSync(`/proc/${p}/smaps_rollup`, 'utf8');
      const field = (k: string) => Number(rollup.match(new RegExp(`^${k}:\\s+(\\d+)`, 'm'))?.[1] ?? 0) * 1024;
      const kind = processKind(readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' '));
      const pss = field('Pss');
      out.total += pss;
      out.anon += field('Pss_Anon');
      out.shmem += field('Pss_Shmem');
      out.byKind[kind] = (out.byKind[kind] ?? 0) + pss;
    } catch {
      /* gone */
    }
  }
  return out;
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

  // A profile on disk, as people have: a default Playwright context is off-the-record, and Chromium
  // keeps an off-the-record origin's IndexedDB and OPFS data in memory (which would count as install memory).
  const profile = mkdtempSync(join(tmpdir(), 'bench-store-profile-'));
  const browser = await chromium.launchPersistentContext(profile, { executablePath: requireChromium(), args: [...BASE_ARGS, '--js-flags=--expose-gc'], headless: true });
  const page = browser.pages()[0] ?? (await browser.newPage());
  await page.goto(appUrl);
  await page.waitForFunction(() => 'bench' in window);
  const step = <T>(name: string, format: 'blob' | 'bytes' = 'blob') =>
    page.evaluate(({ name, a }) => (window as unknown as { bench: (s: string, a: unknown) => Promise<unknown> }).bench(name, a), {
      name,
      a: { base: packs.url, modelId: MODEL_ID, files, format, chunkMiB },
    }) as Promise<T>;
  const memNow = () => treeMemory(process.pid);
  const settle = async () => {
    await step('gc');
    await new Promise((r) => setTimeout(r, 2000));
  };

  const fetchRun = await step<{ ms: number; bytes: number }>('plainFetch');
  if (!installOnly) await step('loadFromMemory'); // warm-up: onnxruntime's wasm compiled and its heap grown
  const runs: Record<
    string,
    { install: { ms: number; bytes: number }; read: { ms: number; bytes: number; largest: number; aboveIdle: number; byProcess: Record<string, number> }; load: { ms: number; readMs: number }; idle: MemSample; peak: MemSample; kindPeaks: Record<string, number> }
  > = {};
  for (const format of formats) {
    await settle();
    const idle = memNow();
    let peak = idle;
    // Highest PSS each kind of process reached (not necessarily at the same moment).
    const kindPeaks: Record<string, number> = { ...idle.byKind };
    const sample = () => {
      const m = memNow();
      if (m.total > peak.total) peak = m;
      for (const [k, v] of Object.entries(m.byKind)) kindPeaks[k] = Math.max(kindPeaks[k] ?? 0, v);
    };
    const sampler = setInterval(sample, 200);
    const installRun = await step<{ ms: number; bytes: number }>('install', format);
    clearInterval(sampler);
    sample();
    // Read-back: every file whole, one at a time, checked against its sha256; memory above idle.
    await settle();
    const readIdle = memNow();
    let readPeak = readIdle;
    const readSample = () => {
      const m = memNow();
      if (m.total > readPeak.total) readPeak = m;
    };
    const readSampler = setInterval(readSample, 200);
    const readRun = await step<{ ms: number; bytes: number; largest: number }>('readBack', format);
    clearInterval(readSampler);
    readSample();
    const load = installOnly ? { ms: NaN, readMs: NaN } : await step<{ ms: number; readMs: number }>('loadFromStore', format);
    await step('cleanup', format);
    runs[format] = { install: installRun, read: { ...readRun, aboveIdle: readPeak.total - readIdle.total, byProcess: Object.fromEntries(Object.entries(readPeak.byKind).map(([k, v]) => [k, v - (readIdle.byKind[k] ?? 0)])) }, load, idle, peak, kindPeaks };
  }
  const memRun = installOnly ? { ms: NaN } : await step<{ ms: number }>('loadFromMemory');
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
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
          readBack: { ms: Math.round(r.read.ms), MiBps: +mbps(r.read.bytes, r.read.ms).toFixed(1), largestFileBytes: r.read.largest, peakAboveIdleBytes: r.read.aboveIdle, peakAboveIdleByProcess: r.read.byProcess },
          sessionFromStore: { ms: Math.round(r.load.ms), readMs: Math.round(r.load.readMs) },
          storeVsMemoryLoadTime: +(r.load.ms / memRun.ms).toFixed(3),
          memory: {
            idleBytes: r.idle.total,
            peakDuringInstallBytes: r.peak.total,
            aboveIdleBytes: r.peak.total - r.idle.total,
            limitBytes: RSS_LIMIT,
            /** Sum over kinds of process of each one's highest rise (their peaks may not coincide): an upper bound, checked against the limit. */
            aboveIdleUpperBoundBytes: Object.entries(r.kindPeaks).reduce((sum, [k, v]) => sum + Math.max(0, v - (r.idle.byKind[k] ?? 0)), 0),
            ok: Object.entries(r.kindPeaks).reduce((sum, [k, v]) => sum + Math.max(0, v - (r.idle.byKind[k] ?? 0)), 0) < RSS_LIMIT,
            /** Where it went: each kind of process's highest PSS during the install, above its idle PSS. */
            aboveIdleByProcess: Object.fromEntries(Object.entries(r.kindPeaks).map(([k, v]) => [k, v - (r.idle.byKind[k] ?? 0)])),
            atPeak: { anonAboveIdle: r.peak.anon - r.idle.anon, shmemAboveIdle: r.peak.shmem - r.idle.shmem },
          },
        },
      ]),
    ),
  };
  await mkdir(join(ROOT, 'bench-results'), { recursive: true });
  await writeFile(join(ROOT, 'bench-results', `bench-store-${mib}.json`), JSON.stringify(result, null, 2));
  console.log(`plain fetch:          ${fmt(total)} in ${(fetchRun.ms / 1000).toFixed(2)} s (${result.plainFetch.MiBps} MiB/s)`);
  console.log(`session from memory:  ${(memRun.ms / 1000).toFixed(2)} s`);
  let failed = false;
  for (const [format, r] of Object.entries(result.formats)) {
    console.log(`[${format} chunks] install:           ${(r.install.ms / 1000).toFixed(2)} s (${r.install.MiBps} MiB/s) → ${r.installVsFetchThroughput}× plain-fetch throughput`);
    console.log(`[${format} chunks] read-back:          ${(r.readBack.ms / 1000).toFixed(2)} s (${r.readBack.MiBps} MiB/s), sha256 ok, largest file ${fmt(r.readBack.largestFileBytes)}, memory +${fmt(r.readBack.peakAboveIdleBytes)} above idle (${Object.entries(r.readBack.peakAboveIdleByProcess)
        .filter(([, v]) => Math.abs(v) >= 8 * 1024 * 1024)
        .map(([k, v]) => `${k} ${v >= 0 ? '+' : ''}${fmt(v)}`)
        .join(', ')})`);
    console.log(`[${format} chunks] session from store: ${(r.sessionFromStore.ms / 1000).toFixed(2)} s (reading ${(r.sessionFromStore.readMs / 1000).toFixed(2)} s) → ${r.storeVsMemoryLoadTime}× the in-memory time`);
    console.log(`[${format} chunks] browser memory:    idle ${fmt(r.memory.idleBytes)}, install peak ${fmt(r.memory.peakDuringInstallBytes)} → +${fmt(r.memory.aboveIdleBytes)}, at most +${fmt(r.memory.aboveIdleUpperBoundBytes)} (limit +${fmt(RSS_LIMIT)}: ${r.memory.ok ? 'ok' : 'EXCEEDED'})`);
    const parts = Object.entries(r.memory.aboveIdleByProcess)
      .filter(([, v]) => Math.abs(v) >= 8 * 1024 * 1024)
      .map(([k, v]) => `${k} ${v >= 0 ? '+' : ''}${fmt(v)}`);
    console.log(`[${format} chunks]   by process (peak − idle): ${parts.join(', ') || 'all within 8 MiB'}; at the peak: anon +${fmt(r.memory.atPeak.anonAboveIdle)}, shmem +${fmt(r.memory.atPeak.shmemAboveIdle)}`);
    if (!r.memory.ok) failed = true;
  }
  if (failed) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
