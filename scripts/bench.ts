/**
 * Inference benchmark (issue 7): headless Chromium running the app's worker code against
 * onnxruntime-node on the same graphs, on "Medium-slice" models (SD 3.5 Medium widths, a few blocks,
 * q4, random weights — src/fixtures/medium-slice.ts). Prints a markdown table and writes the raw
 * figures to bench-results/bench-<date>.json (and bench-results/bench-latest.json).
 *
 *   npm run bench -- [--quick] [--runs N] [--only 1,2,3,4,5,6,7,build,kernel] [--out-dir dist-bench] [--port N] [--no-build]
 *
 * --only capture (not in the default set, ~10 min on SwiftShader): WebGPU graph capture vs the app's
 * session on the tiny and Medium-slice transformers (bytes per run, peak GPU memory, output difference);
 * --capture-cases picks some of its cases (ids: tiny-64,tiny-128,slice1-128,slice1-256,slice2-128).
 *
 * --load-blocks N: figures 5 and 6 on a slice of N blocks (default 2, 167 MiB; 8 is about 0.5 GiB, the
 * largest whose fp32 source fits one buffer).
 *
 * --quick: 256² instead of 512², slices of 1 and 2 blocks, 2 runs, 4 steps instead of 28 (a smoke run).
 */
import { chromium, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import * as ortNode from 'onnxruntime-node';
import sirv from 'sirv';
import { build } from 'vite';
import { BASE_ARGS, requireChromium } from '../e2e/chromium.js';
import { DEFAULT_FIXTURE } from '../src/fixtures/fixture-config.js';
import { packVariantBytes, writeMediumSlice, type MediumSlicePack } from '../src/fixtures/medium-slice.js';
import { writeFixture } from '../src/fixtures/write-fixture.js';
import { fsModelSource } from '../src/models/fs-model-source.js';
import { SessionRunner, type ModelSession, type OrtModule } from '../src/runtime/session-runner.js';
import { samplePeak, descendantsPss } from './bench/process-memory.js';
import { markdownTable, median, medianRatio, mib, overheadFraction, percent, perStep, projectMedium, seconds, times, type Row } from './bench/stats.js';
import type { CaptureMode, CaptureResult } from './bench/page/capture-bench.js';
import { createTransformerSession, readPackManifest, timeSteps, transformerFeeds } from './bench/transformer-timing.js';

const ROOT = resolve(import.meta.dirname, '..');
const FIXTURES = join(ROOT, '.fixtures');
const args = process.argv.slice(2);
const opt = (k: string, d: string): string => (args.includes(k) ? args[args.indexOf(k) + 1]! : d);
const quick = args.includes('--quick');
const runs = Number(opt('--runs', quick ? '2' : '5'));
const only = new Set(opt('--only', '1,2,3,4,5,6,7,build,kernel').split(','));
const want = (f: string): boolean => only.has(f);
const outDir = resolve(ROOT, opt('--out-dir', opt('--outDir', 'dist-bench')));
const port = Number(opt('--port', process.env.BENCH_PORT ?? '0'));
const side = quick ? 256 : 512;
const loadBlocks = Number(opt('--load-blocks', '2'));
const pipelineSteps = quick ? 4 : 28;
const log = (s: string): void => console.log(`[bench] ${s}`);

// ------------------------------------------------------------------------------------------ setup

function machine() {
  const git = (...a: string[]): string => {
    try {
      return execFileSync('git', a, { cwd: ROOT, encoding: 'utf8' }).trim();
    } catch {
      return 'unknown';
    }
  };
  return {
    date: new Date().toISOString(),
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryBytes: totalmem(),
    commit: git('rev-parse', '--short', 'HEAD'),
    dirty: git('status', '--porcelain', '--untracked-files=no') !== '',
    chromium: execFileSync(requireChromium() ?? 'chromium', ['--version'], { encoding: 'utf8' }).trim(),
    onnxruntime: '1.30.0',
  };
}

async function buildPage(): Promise<void> {
  if (args.includes('--no-build')) return;
  await build({
    configFile: false,
    root: join(ROOT, 'scripts/bench/page'),
    base: './',
    publicDir: false,
    logLevel: 'warn',
    optimizeDeps: { exclude: ['onnxruntime-web'] },
    worker: { format: 'es' },
    build: { outDir, emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 8192 },
  });
}

async function serve(): Promise<{ url: string; close(): void }> {
  const headers = (res: { setHeader(k: string, v: string): void }) => {
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  };
  const page = sirv(outDir, { dev: false, setHeaders: headers });
  const packs = sirv(FIXTURES, { dev: true, setHeaders: headers });
  const server = createServer((req, res) => {
    const notFound = () => void res.writeHead(404).end();
    if (req.url?.startsWith('/packs/')) {
      req.url = req.url.slice('/packs'.length);
      packs(req, res, notFound);
    } else page(req, res, notFound);
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, close: () => server.close() };
}

type BenchFn = (worker: string, step: string, a?: unknown) => Promise<unknown>;
const call = <T>(page: Page, worker: string, step: string, a: unknown = {}): Promise<T> =>
  page.evaluate(({ worker, step, a }) => (window as unknown as { bench: BenchFn }).bench(worker, step, a), { worker, step, a }) as Promise<T>;

async function openPage(context: BrowserContext, url: string): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (e) => log(`page error: ${e.message}`));
  page.on('crash', () => log('page crashed'));
  if (process.env.BENCH_DEBUG) page.on('console', (m) => log(`console: ${m.text()}`));
  await page.goto(url);
  await page.waitForFunction(() => 'bench' in window);
  return page;
}

function nodeRunner(threads: number): SessionRunner {
  // The options of createNodeEngine (src/engine/node-engine.ts): the native reference.
  return new SessionRunner(ortNode as unknown as OrtModule, { executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: threads, interOpNumThreads: 1 });
}

// ---------------------------------------------------------------------------------------- figures

interface StepSample {
  browserMs: number[];
  nodeMs: number[];
}

/** Browser (WASM, app runtime) and Node step times of one slice, measured alternately. */
async function timeSlice(page: Page, slice: MediumSlicePack, packUrl: string, sides: number[], n: number, withNode: boolean): Promise<{ threads: number; bySide: Record<number, StepSample> }> {
  const key = slice.id;
  const opened = await call<{ backend: { threads: number } }>(page, 'app', 'openTransformer', { key, baseUrl: packUrl, backend: 'wasm' });
  const threads = opened.backend.threads;
  let node: ModelSession | null = null;
  const manifest = await readPackManifest(fsModelSource(slice.dir));
  if (withNode) node = await createTransformerSession(fsModelSource(slice.dir), nodeRunner(threads), 'q4');
  const bySide: Record<number, StepSample> = {};
  try {
    for (const s of sides) {
      const sample: StepSample = { browserMs: [], nodeMs: [] };
      // Node only at the main size; other sizes (figure 7) with at most 3 runs.
      const withNodeHere = node !== null && s === side;
      const feeds = transformerFeeds(manifest, s, 2);
      await call(page, 'app', 'timeTransformer', { key, side: s, batch: 2, runs: 0, warmup: 1 });
      if (withNodeHere) await timeSteps(node!, feeds, 0, 1);
      for (let i = 0; i < (s === side ? n : Math.min(n, 3)); i++) {
        sample.browserMs.push(...(await call<number[]>(page, 'app', 'timeTransformer', { key, side: s, batch: 2, runs: 1, warmup: 0 })));
        if (withNodeHere) sample.nodeMs.push(...(await timeSteps(node!, feeds, 1, 0)));
      }
      bySide[s] = sample;
      log(`${slice.id} @ ${s}²: browser ${sample.browserMs.map((x) => x.toFixed(0)).join(', ')} ms; node ${sample.nodeMs.map((x) => x.toFixed(0)).join(', ') || '—'} ms`);
    }
  } finally {
    await call(page, 'app', 'closeTransformer', { key });
    await node?.release();
  }
  return { threads, bySide };
}

interface GenerateOut {
  wallMs: number;
  timings: { totalMs: number; sessionMs: number; denoiseMs: number };
  backend: string;
  traffic: { writtenBytes: number; readBytes: number; writeCalls: number; readMaps: number };
}

const generateRequest = (steps: number, s: number, extra: Record<string, unknown> = {}) => ({
  jobId: `bench-${Math.random().toString(36).slice(2)}`,
  prompt: 'a lighthouse on a cliff at dusk, oil painting',
  negativePrompt: 'blurry',
  width: s,
  height: s,
  steps,
  guidance: 4.5,
  seed: 42,
  preview: false,
  ...extra,
});

// ------------------------------------------------------------------------------- graph capture

const kib = (b: number): string => (!Number.isFinite(b) ? 'n/a' : Math.abs(b) >= 1 << 20 ? `${(b / (1 << 20)).toFixed(1)} MiB` : `${(b / 1024).toFixed(1)} KiB`);
const maxAbsDiff = (a: readonly number[], b: readonly number[]): number => a.reduce((m, x, k) => Math.max(m, Math.abs(x - b[k]!)), 0);
/** Image + text tokens of one transformer run at side² pixels (patch 2 on 8× latents). */
const tokensAt = (s: number): number => (s / 16) ** 2 + 333;

interface CaptureCase {
  id: string;
  label: string;
  pack: 'tiny' | 'one' | 'two';
  variant: string;
  side: number;
  /** Medium slices: ~95 s per run on SwiftShader, so the capture run and one replay only, and only the capture mode whose output is right. */
  slow?: boolean;
}

const CAPTURE_CASES: CaptureCase[] = [
  { id: 'tiny-64', label: 'tiny transformer fp32 @ 64²', pack: 'tiny', variant: 'fp32', side: 64 },
  { id: 'tiny-128', label: 'tiny transformer fp32 @ 128²', pack: 'tiny', variant: 'fp32', side: 128 },
  { id: 'slice1-128', label: 'Medium-slice (1 block) q4 @ 128²', pack: 'one', variant: 'q4', side: 128, slow: true },
  { id: 'slice1-256', label: 'Medium-slice (1 block) q4 @ 256²', pack: 'one', variant: 'q4', side: 256, slow: true },
  { id: 'slice2-128', label: 'Medium-slice (2 blocks) q4 @ 128²', pack: 'two', variant: 'q4', side: 128, slow: true },
];

interface CaptureSummary {
  error?: string;
  /** Medians over runs 2…N (run 1 captures). */
  written: [number, number];
  writeCalls: [number, number];
  read: [number, number];
  peak: [number, number];
  /** Peak minus live bytes after session creation (weights): the run's own buffers. */
  runBuffers: [number, number];
  ms: [number, number];
  /** max over runs of max |normal − capture| output, and the largest |output| of the normal session. */
  maxDiff: number;
  maxAbs: number;
  /** Smallest max |Δ| between consecutive capture outputs (0 would mean a replay ignored new inputs). */
  minChange: number;
}

function summarize(n: CaptureResult, c: CaptureResult): CaptureSummary {
  const after = (r: CaptureResult, f: (x: CaptureResult['runs'][number]) => number) => median(r.runs.slice(1).map(f));
  const pair = (f: (x: CaptureResult['runs'][number]) => number): [number, number] => [after(n, f), after(c, f)];
  const runs = Math.min(n.outputs.length, c.outputs.length);
  let maxDiff = 0;
  let minChange = Infinity;
  for (let i = 0; i < runs; i++) maxDiff = Math.max(maxDiff, maxAbsDiff(n.outputs[i]!, c.outputs[i]!));
  for (let i = 1; i < c.outputs.length; i++) minChange = Math.min(minChange, maxAbsDiff(c.outputs[i]!, c.outputs[i - 1]!));
  const error = [n.error && `normal, ${n.error.at}: ${n.error.message}`, c.error && `capture, ${c.error.at}: ${c.error.message}`, ...c.gpuErrors.map((e) => `capture GPU error: ${e}`), ...n.gpuErrors.map((e) => `normal GPU error: ${e}`)]
    .filter(Boolean)
    .join('; ');
  return {
    ...(error ? { error } : {}),
    written: pair((r) => r.writtenBytes),
    writeCalls: pair((r) => r.writeCalls),
    read: pair((r) => r.readBytes),
    peak: [n.peakBytes, c.peakBytes],
    runBuffers: [n.peakBytes - n.liveAfterCreate, c.peakBytes - c.liveAfterCreate],
    ms: pair((r) => r.ms),
    maxDiff: runs ? maxDiff : NaN,
    maxAbs: runs ? Math.max(...n.outputs.flat().map(Math.abs)) : NaN,
    minChange: c.outputs.length > 1 ? minChange : NaN,
  };
}

/**
 * Graph capture (issue 7: "graph capture tried where its conditions hold, kept if it helps"): each
 * case runs in a fresh page (worker, GPU device) per mode, so peaks are the mode's own.
 */
async function captureFigures(context: BrowserContext, url: string, packs: Record<CaptureCase['pack'], string>, rows: Row[]): Promise<Record<string, unknown>> {
  const pick = new Set(opt('--capture-cases', CAPTURE_CASES.map((c) => c.id).join(',')).split(','));
  const captureRuns = quick ? 3 : 4;
  const results: Record<string, { modes: Partial<Record<CaptureMode, CaptureResult>>; summaries: Partial<Record<CaptureMode, CaptureSummary>> }> = {};
  for (const c of CAPTURE_CASES.filter((x) => pick.has(x.id))) {
    const byMode: Partial<Record<CaptureMode, CaptureResult>> = {};
    const modes: CaptureMode[] = c.slow ? ['normal', 'capture-ort-output'] : ['normal', 'capture', 'capture-ort-output'];
    const caseRuns = c.slow ? 2 : captureRuns;
    for (const mode of modes) {
      const p = await openPage(context, url);
      try {
        byMode[mode] = await call<CaptureResult>(p, 'capture', 'run', { baseUrl: packs[c.pack], variant: c.variant, side: c.side, batch: 2, runs: caseRuns, mode });
      } catch (e) {
        byMode[mode] = { mode, backend: 'n/a', createMs: NaN, liveBefore: NaN, liveAfterCreate: NaN, peakBytes: NaN, runs: [], outputs: [], timesteps: [], gpuErrors: [], error: { at: 'worker', message: (e as Error).message } };
      } finally {
        await p.close();
      }
      const r = byMode[mode]!;
      log(`capture ${c.id} ${mode}: ${r.error ? `FAILED at ${r.error.at}: ${r.error.message}` : `create ${r.createMs.toFixed(0)} ms, weights ${kib(r.liveAfterCreate - r.liveBefore)}, peak ${kib(r.peakBytes)}`}; runs ${JSON.stringify(r.runs)}`);
    }
    results[c.id] = { modes: byMode, summaries: {} };
    for (const mode of modes.filter((m) => m !== 'normal')) {
      const [n, cap] = [byMode.normal!, byMode[mode]!];
      const s = summarize(n, cap);
      results[c.id]!.summaries[mode] = s;
      const ok = !n.error && !cap.error && cap.runs.length > 1;
      const sameOutput = s.maxDiff <= 1e-3 * Math.max(1, s.maxAbs);
      rows.push({
        figure:
          `capture: ${c.label}, batch 2, WebGPU (SwiftShader): the app's session → with enableGraphCapture, ` +
          `${mode === 'capture' ? 'output in a bound buffer of ours' : 'output left to ORT (bound in the capture run)'}, per run after the first (${caseRuns} runs, new latents + timestep each)`,
        value: ok
          ? `written ${s.written[0].toFixed(0)} B in ${s.writeCalls[0].toFixed(0)} calls → ${s.written[1].toFixed(0)} B in ${s.writeCalls[1].toFixed(0)}; read ${s.read[0]} → ${s.read[1]} B; ` +
            `peak GPU ${kib(s.peak[0])} → ${kib(s.peak[1])} (${times(s.peak[1] / s.peak[0])}; run buffers ${kib(s.runBuffers[0])} → ${kib(s.runBuffers[1])}); ` +
            `max |Δ out| ${s.maxDiff.toExponential(1)} (max |out| ${s.maxAbs.toFixed(2)}; replays change with inputs: ${s.minChange > 0 ? 'yes' : 'NO'}); run ${seconds(s.ms[0], 3)} → ${seconds(s.ms[1], 3)}` +
            (s.error ? `; ${s.error}` : '')
          : `graph capture failed: ${s.error ?? 'no runs'}`,
        goal: '≤ 64 B written, 0 read, same output',
        met: ok ? s.written[1] <= 64 && s.read[1] === 0 && sameOutput && s.minChange > 0 && !s.error : null,
      });
    }
  }
  // Full SD 3.5 Medium (24 blocks, batch 2): extra peak of capture = slice 1 + 23 × (slice 2 − slice 1), scaled from 128² by tokens^k.
  const extra = (id: string): number => {
    const r = results[id]?.summaries['capture-ort-output'];
    return r && !r.error ? r.peak[1] - r.peak[0] : NaN;
  };
  const [e1, e1b, e2] = [extra('slice1-128'), extra('slice1-256'), extra('slice2-128')];
  if (Number.isFinite(e1) && Number.isFinite(e2)) {
    const perBlock = e2 - e1;
    const at128 = e1 + 23 * perBlock;
    // Growth exponent measured on slice 1 between 128² and 256² (1 = linear in tokens, 2 = attention-bound).
    const k = Number.isFinite(e1b) && e1 > 0 && e1b > 0 ? Math.log(e1b / e1) / Math.log(tokensAt(256) / tokensAt(128)) : NaN;
    const project = (s: number, exp: number) => at128 * (tokensAt(s) / tokensAt(128)) ** exp;
    const projection = { perBlock128: perBlock, slice1_128: e1, slice1_256: e1b, full128: at128, exponent: k, bySide: Object.fromEntries([512, 1024].map((s) => [s, { linear: project(s, 1), measuredExponent: project(s, k), quadratic: project(s, 2) }])) };
    rows.push({
      figure: `capture: projected extra peak GPU memory of graph capture for SD 3.5 Medium (24 blocks, batch 2): slice 1 + 23 × (slice 2 − slice 1) at 128² (${kib(at128)}; per block ${kib(perBlock)}), × (tokens / ${tokensAt(128)})^k, k measured ${Number.isFinite(k) ? k.toFixed(2) : 'n/a'}`,
      value: [512, 1024].map((s) => `${s}² (${tokensAt(s)} tokens): ${kib(project(s, Number.isFinite(k) ? k : 2))} (linear ${kib(project(s, 1))}, tokens² ${kib(project(s, 2))})`).join('; '),
      goal: '—',
      met: null,
    });
    return { capture: results, captureProjection: projection };
  }
  return { capture: results };
}

async function main(): Promise<void> {
  const info = machine();
  log(`${info.cpu}, ${info.cores} cores, ${mib(info.memoryBytes)}; commit ${info.commit}${info.dirty ? ' (dirty)' : ''}; ${quick ? 'quick' : 'full'} run, ${runs} runs`);
  const t0 = performance.now();

  // Models: slices (1 block = embedders + head + last block; 2 = + a dual block; 3-1j = + a joint block) and the tiny fixture.
  const slices = {
    one: await writeMediumSlice(FIXTURES, 1, { log }),
    two: await writeMediumSlice(FIXTURES, 2, { log }),
    three: quick || !want('2') ? null : await writeMediumSlice(FIXTURES, 3, { plainJointBlocks: 1, log }),
    // Figures 5 and 6 (load and memory): --load-blocks picks a larger slice, nearer a real pack's size.
    load: loadBlocks === 2 || !(want('5') || want('6')) ? null : await writeMediumSlice(FIXTURES, loadBlocks, { log }),
  };
  const tiny = await writeFixture(join(FIXTURES, 'bench-tiny-sd3'), DEFAULT_FIXTURE);
  void tiny;
  await buildPage();
  const server = await serve();
  const packUrl = (id: string): string => `${server.url}packs/${id}/`;
  const browser: Browser = await chromium.launch({ executablePath: requireChromium(), args: [...BASE_ARGS, '--enable-unsafe-webgpu'], headless: true });
  const rows: Row[] = [];
  const raw: Record<string, unknown> = { machine: info, options: { quick, runs, side, pipelineSteps } };

  try {
    const context = await browser.newContext();
    const page = await openPage(context, server.url);

    // 1, 2, 7: step times.
    if (want('1') || want('2') || want('7')) {
      const sides7 = quick ? [256] : want('7') ? [256, 512, 768] : [side];
      const two = await timeSlice(page, slices.two, packUrl(slices.two.id), sides7.includes(side) ? sides7 : [side, ...sides7], runs, want('1') || want('2'));
      raw.threads = two.threads;
      const s2 = two.bySide[side]!;
      raw.slice2 = two.bySide;
      const ratio = medianRatio(s2.browserMs, s2.nodeMs);
      rows.push({
        figure: `1. Medium-slice (2 blocks) step at ${side}² (batch 2 = guidance on), WASM ${two.threads} threads vs onnxruntime-node CPU ${two.threads} threads`,
        value: `${seconds(median(s2.browserMs))} vs ${seconds(median(s2.nodeMs))}: ${times(ratio)}`,
        goal: '≤ 1.25×',
        met: Number.isFinite(ratio) ? ratio <= 1.25 : null,
      });
      if (want('2')) {
        const one = await timeSlice(page, slices.one, packUrl(slices.one.id), [side], runs, true);
        raw.slice1 = one.bySide;
        let three: typeof one | null = null;
        if (slices.three) {
          three = await timeSlice(page, slices.three, packUrl(slices.three.id), [side], runs, true);
          raw.slice3 = three.bySide;
        }
        for (const who of ['browser', 'node'] as const) {
          const k = who === 'browser' ? 'browserMs' : 'nodeMs';
          const t1 = median(one.bySide[side]![k]);
          const t2 = median(s2[k]);
          // Quick runs have no 3-block slice: a joint block is then taken to cost a dual block minus its image-only attention (not measured).
          const t3 = three ? median(three.bySide[side]![k]) : NaN;
          const p = projectMedium({ oneBlock: t1, twoBlocks: t2, threeBlocks: Number.isFinite(t3) ? t3 : t2 + (t2 - t1) });
          raw[`projection_${who}`] = p;
          rows.push({
            figure: `2. Projected SD 3.5 Medium step at ${side}² (batch 2), ${who === 'browser' ? 'WASM in Chromium' : 'onnxruntime-node'}: fixed+last ${seconds(p.fixedAndLastBlock)}, dual block ${seconds(p.dualBlock)}, joint block ${three ? seconds(p.jointBlock) : '≈ dual (not measured)'}`,
            value: seconds(p.fullStep, 1),
            goal: '—',
            met: null,
          });
        }
      }
      if (want('7')) {
        for (const s of sides7) {
          const ms = median(two.bySide[s]?.browserMs ?? []);
          const tokens = (s / 16) ** 2 + 333;
          rows.push({ figure: `7. Medium-slice (2 blocks) step at ${s}² (${tokens} tokens), WASM`, value: `${seconds(ms)} (${(ms / tokens).toFixed(2)} ms/token)`, goal: '—', met: null });
        }
      }
    }

    // 3: pipeline overhead on the app's engine (weight store → pipeline), guidance on, previews off.
    if (want('3')) {
      const s3 = 256;
      await call(page, 'app', 'load', { modelId: 'medium-slice', baseUrl: packUrl(slices.one.id), backend: 'wasm' });
      const fractions: number[] = [];
      const gens: GenerateOut[] = [];
      for (let i = 0; i < (quick ? 1 : 2); i++) {
        const g = await call<GenerateOut>(page, 'app', 'generate', generateRequest(pipelineSteps, s3));
        gens.push(g);
        fractions.push(overheadFraction(g.wallMs, g.timings.sessionMs));
        log(`generation ${pipelineSteps} steps @ ${s3}²: wall ${g.wallMs.toFixed(0)} ms, in sessions ${g.timings.sessionMs.toFixed(0)} ms`);
      }
      raw.pipeline = gens;
      const f = median(fractions);
      rows.push({
        figure: `3. Pipeline overhead, Medium-slice (1 block), ${pipelineSteps} steps at ${s3}², guidance 4.5, WASM: (wall − in session runs) / wall`,
        value: `${percent(f)} of ${seconds(median(gens.map((g) => g.wallMs)), 1)}`,
        goal: '≤ 3 %',
        met: Number.isFinite(f) ? f <= 0.03 : null,
      });
      await call(page, 'app', 'unload');
      await call(page, 'app', 'deletePack', { modelId: 'medium-slice' });
    }
    await page.close();

    // 5: page load → ready, model in the store vs sessions from in-memory bytes.
    const loadSlice = slices.load ?? slices.two;
    const weights = packVariantBytes(loadSlice.manifest, 'q4');
    if (want('5') || want('6')) {
      const p = await openPage(context, server.url);
      await call(p, 'app', 'install', { modelId: 'medium-slice', baseUrl: packUrl(loadSlice.id), backend: 'wasm' });
      await p.close();
    }
    if (want('5')) {
      const readyMs = async (mode: 'store' | 'memory'): Promise<number> => {
        const p = await context.newPage();
        await p.goto(`${server.url}?ready=${mode}&base=${encodeURIComponent(packUrl(loadSlice.id))}`);
        await p.waitForFunction(() => 'ready' in window, undefined, { timeout: 300_000 });
        const r = await p.evaluate(() => (window as unknown as { ready: { ms?: number; error?: string } }).ready);
        await p.close();
        if (r.error) throw new Error(`ready (${mode}): ${r.error}`);
        return r.ms!;
      };
      const store: number[] = [];
      const memory: number[] = [];
      for (let i = 0; i < Math.min(runs, 3); i++) {
        store.push(await readyMs('store'));
        memory.push(await readyMs('memory'));
        log(`ready: from store ${store.at(-1)!.toFixed(0)} ms, from memory ${memory.at(-1)!.toFixed(0)} ms`);
      }
      raw.ready = { store, memory };
      const ratio = medianRatio(store, memory);
      rows.push({
        figure: `5. Page load → ready, Medium-slice (${loadBlocks} blocks, ${mib(weights.total)}), from the weight store vs sessions from in-memory bytes`,
        value: `${seconds(median(store))} vs ${seconds(median(memory))}: ${times(ratio)}`,
        goal: '≤ 1.3×',
        met: Number.isFinite(ratio) ? ratio <= 1.3 : null,
      });
    }

    // 6: peak memory of the browser's processes during generation ÷ loaded weight bytes.
    if (want('6')) {
      const largest = Math.max(...Object.values(weights.byComponent));
      // Fresh page (worker) per mode; PSS of all of Chromium's processes sampled while loading and generating.
      const peakFor = async (memoryMode: 'fast' | 'low-memory') => {
        const p = await openPage(context, server.url);
        await call(p, 'app', 'unload'); // starts the worker
        await new Promise((r) => setTimeout(r, 1000));
        const idle = descendantsPss(process.pid);
        const sampler = samplePeak(process.pid);
        const loaded = await call<{ memory?: { mode: string } }>(p, 'app', 'load', { modelId: 'medium-slice', baseUrl: packUrl(loadSlice.id), backend: 'wasm', memoryMode });
        const afterLoad = descendantsPss(process.pid);
        const loadPeak = sampler.peak();
        await call<GenerateOut>(p, 'app', 'generate', generateRequest(2, side));
        const peak = sampler.stop();
        await call(p, 'app', 'unload');
        await p.close();
        log(`memory (${memoryMode}, engine says ${loaded.memory?.mode ?? 'n/a'}): idle ${mib(idle)}, peak while loading ${mib(loadPeak)}, after load ${mib(afterLoad)}, peak ${mib(peak)}; weights ${mib(weights.total)}, largest component ${mib(largest)}`);
        return { idle, loadPeak, afterLoad, peak, mode: loaded.memory?.mode ?? null };
      };
      const fast = await peakFor('fast');
      const low = await peakFor('low-memory');
      raw.memory = { fast, low, weights };
      rows.push({
        figure: `6. Peak PSS of Chromium's processes while loading + generating (fast mode, Medium-slice ${loadBlocks} blocks, ${side}², 2 steps) ÷ loaded weights (${mib(weights.total)})`,
        value: `${mib(fast.peak)}: ${times(fast.peak / weights.total)} (above the idle browser, ${mib(fast.idle)}: ${times((fast.peak - fast.idle) / weights.total)})`,
        goal: '≤ 1.5×',
        met: fast.peak / weights.total <= 1.5,
      });
      rows.push({
        figure: `6b. Same in low-memory mode (engine reports ${low.mode ?? 'no mode'}) ÷ largest component (${mib(largest)})`,
        value: `${mib(low.peak)}: ${times(low.peak / largest)} (above idle: ${times((low.peak - low.idle) / largest)})`,
        goal: '≤ 1.2×',
        met: low.peak / largest <= 1.2,
      });
    }

    // 4: CPU↔GPU bytes per denoising step on WebGPU (SwiftShader), tiny model, previews off.
    if (want('4')) {
      const p = await openPage(context, server.url);
      const [n1, n2] = [2, 6];
      try {
        await call(p, 'app', 'load', { modelId: 'tiny-sd3', baseUrl: packUrl('bench-tiny-sd3'), backend: 'webgpu' });
        // Warm-up: the first runs upload weights and build kernels.
        await call<GenerateOut>(p, 'app', 'generate', generateRequest(n1, 64));
        const a = await call<GenerateOut>(p, 'app', 'generate', generateRequest(n1, 64));
        const b = await call<GenerateOut>(p, 'app', 'generate', generateRequest(n2, 64));
        const written = perStep(n1, a.traffic.writtenBytes, n2, b.traffic.writtenBytes);
        const read = perStep(n1, a.traffic.readBytes, n2, b.traffic.readBytes);
        raw.gpuTraffic = { steps: [n1, n2], runs: [a.traffic, b.traffic], backend: a.backend };
        log(`gpu traffic (${a.backend}): ${n1} steps ${JSON.stringify(a.traffic)}; ${n2} steps ${JSON.stringify(b.traffic)}`);
        rows.push({
          figure: `4. Bytes between CPU and GPU per denoising step, WebGPU (SwiftShader), tiny model 64², guidance on, previews off`,
          value: a.backend === 'webgpu' ? `${read.toFixed(0)} B read back, ${written.toFixed(0)} B written` : `not measured (ran on ${a.backend})`,
          goal: '0 read, ≤ 64 written',
          met: a.backend === 'webgpu' ? read === 0 && written <= 64 : null,
        });
      } catch (e) {
        rows.push({ figure: '4. Bytes between CPU and GPU per denoising step (WebGPU)', value: `failed: ${(e as Error).message.slice(0, 160)}`, goal: '0 read, ≤ 64 written', met: null });
      }
      await p.close();
    }

    // Build choice: onnxruntime-web (JSEP) vs onnxruntime-web/webgpu on the same graphs.
    if (want('build')) {
      const buildRuns = quick ? 2 : 3;
      const cases = [
        { ep: 'wasm', baseUrl: packUrl(slices.one.id), variant: 'q4', side: 256, label: 'WASM, Medium-slice (1 block) q4 @ 256²' },
        { ep: 'webgpu', baseUrl: packUrl('bench-tiny-sd3'), variant: 'fp32', side: 256, label: 'WebGPU (SwiftShader), tiny transformer fp32 @ 256²' },
      ];
      const builds: Record<string, unknown> = {};
      for (const c of cases) {
        const res: Record<string, { createMs: number; times: number[] } | { error: string }> = {};
        for (const w of ['jsep', 'webgpu-build']) {
          const p = await openPage(context, server.url);
          try {
            res[w] = await call(p, w, 'time', { ...c, batch: 2, runs: buildRuns, warmup: 1, threads: (raw.threads as number | undefined) ?? info.cores });
          } catch (e) {
            res[w] = { error: (e as Error).message };
          }
          await p.close();
        }
        builds[c.label] = res;
        const ms = (w: string) => ('times' in res[w]! ? median((res[w] as { times: number[] }).times) : NaN);
        const describe = (w: string) => ('error' in res[w]! ? `failed (${(res[w] as { error: string }).error.slice(0, 80)})` : seconds(ms(w), 3));
        rows.push({
          figure: `build: ${c.label}, step (batch 2): onnxruntime-web (JSEP) vs onnxruntime-web/webgpu`,
          value: `${describe('jsep')} vs ${describe('webgpu-build')}${Number.isFinite(ms('jsep') / ms('webgpu-build')) ? ` (JSEP/webgpu ${times(ms('jsep') / ms('webgpu-build'))})` : ''}`,
          goal: '—',
          met: null,
        });
      }
      raw.builds = builds;
    }
    // Where figure 1's gap comes from: the same 1-block slice as q4 (MatMulNBits) and as fp32
    // (MatMul), browser WASM vs onnxruntime-node at the same thread count.
    if (want('kernel')) {
      const threads = (raw.threads as number | undefined) ?? info.cores;
      const kernelRuns = quick ? 2 : 3;
      const kernels: Record<string, { browserMs: number[]; nodeMs: number[] }> = {};
      for (const [variant, dir, id] of [['q4', slices.one.dir, slices.one.id], ['fp32', `${slices.one.dir}-fp32`, `${slices.one.id}-fp32`]] as const) {
        const p = await openPage(context, server.url);
        let browserMs: number[] = [];
        try {
          browserMs = (await call<{ times: number[] }>(p, 'jsep', 'time', { ep: 'wasm', baseUrl: packUrl(id), variant, side: 256, batch: 2, runs: kernelRuns, warmup: 1, threads })).times;
        } finally {
          await p.close();
        }
        const node = await createTransformerSession(fsModelSource(dir), nodeRunner(threads), variant);
        const nodeMs = await timeSteps(node, transformerFeeds(await readPackManifest(fsModelSource(dir)), 256, 2), kernelRuns, 1);
        await node.release();
        kernels[variant] = { browserMs, nodeMs };
        rows.push({
          figure: `kernel: Medium-slice (1 block) ${variant} step at 256², WASM ${threads} threads vs onnxruntime-node`,
          value: `${seconds(median(browserMs), 3)} vs ${seconds(median(nodeMs), 3)}: ${times(median(browserMs) / median(nodeMs))}`,
          goal: '—',
          met: null,
        });
      }
      raw.kernels = kernels;
    }
    if (want('capture')) Object.assign(raw, await captureFigures(context, server.url, { tiny: packUrl('bench-tiny-sd3'), one: packUrl(slices.one.id), two: packUrl(slices.two.id) }, rows));
    await context.close();
  } finally {
    await browser.close();
    server.close();
  }

  raw.rows = rows;
  raw.totalSeconds = (performance.now() - t0) / 1000;
  const table = markdownTable(rows);
  console.log(`\n${table}\n`);
  console.log(`${info.date.slice(0, 10)}, ${info.cpu} (${info.cores} cores, ${mib(info.memoryBytes)}), commit ${info.commit}${info.dirty ? '+dirty' : ''}, ${info.chromium}, ${(raw.totalSeconds as number).toFixed(0)} s`);
  const dir = join(ROOT, 'bench-results');
  await mkdir(dir, { recursive: true });
  const json = JSON.stringify(raw, null, 2);
  await writeFile(join(dir, `bench-${info.date.replace(/[:.]/g, '-')}.json`), json);
  await writeFile(join(dir, 'bench-latest.json'), json);
  await writeFile(join(dir, 'bench-latest.md'), `${table}\n`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
