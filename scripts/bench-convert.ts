/**
 * Converter benchmark (not part of npm test): builds a transformer-shaped fp16 source of more than
 * 1 GB at the real SD 3.5 Medium width (24 heads × 64 = 1536, joint dim 4096, pooled 2048; tiny CLIPs
 * and VAE, no T5), then converts it to q4 with the CLI's code path in a fresh process and reports
 * throughput, peak RSS (process.resourceUsage().maxRSS) and the converted/source size ratio.
 *
 *   npm run bench:convert -- [--layers 7] [--dir .fixtures/bench-convert] [--rebuild]
 *
 * Steps run as child processes so that each one's peak RSS is its own: build (fp32 export via the
 * fixture builder; needs a few GB of RAM), fp16 (our converter's fp16 variant, renamed into an
 * optimum-layout fp16 source), q4 (the measured conversion).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { convertToPack } from '../src/convert/convert.js';
import { folderSink } from '../src/convert/folder-sink.js';
import { folderSource } from '../src/convert/folder-source.js';
import { DEFAULT_FIXTURE, type FixtureConfig } from '../src/fixtures/fixture-config.js';
import { buildSd3Transformer } from '../src/fixtures/transformer-graph.js';
import { buildFixtureFiles, deriveSeed } from '../src/fixtures/write-fixture.js';

const SCRIPT = fileURLToPath(import.meta.url);
const ROOT = resolve(SCRIPT, '..', '..');
const RSS_LIMIT_MB = 512;

interface Args {
  layers: number;
  dir: string;
  rebuild: boolean;
  step: 'all' | 'build' | 'fp16' | 'q4';
}

function parseArgs(argv: string[]): Args {
  const a: Args = { layers: 7, dir: resolve(ROOT, '.fixtures/bench-convert'), rebuild: false, step: 'all' };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    if (k === '--layers') a.layers = Number(argv[++i]);
    else if (k === '--dir') a.dir = resolve(process.cwd(), argv[++i]!);
    else if (k === '--rebuild') a.rebuild = true;
    else if (k === '--step') a.step = argv[++i] as Args['step'];
    else throw new Error(`unknown argument ${k}`);
  }
  if (!Number.isInteger(a.layers) || a.layers < 2) throw new Error('--layers must be an integer ≥ 2');
  return a;
}

/** SD 3.5 Medium's transformer width with tiny encoders and VAE around it (no T5). */
export function benchConfig(layers: number): FixtureConfig {
  return {
    ...DEFAULT_FIXTURE,
    t5: null,
    clipL: { ...DEFAULT_FIXTURE.clipL, projection: 768 },
    clipG: { ...DEFAULT_FIXTURE.clipG, projection: 1280 },
    transformer: {
      ...DEFAULT_FIXTURE.transformer,
      heads: 24,
      headDim: 64,
      layers,
      dualAttentionLayers: Array.from({ length: Math.min(3, layers - 1) }, (_, i) => i),
      jointAttentionDim: 4096,
      captionProjectionDim: 1536,
      pooledProjectionDim: 2048,
      posEmbedMaxSize: 64,
    },
  };
}

const peakRssMb = (): number => process.resourceUsage().maxRSS / 1024;

async function dirBytes(dir: string, filter: (name: string) => boolean = () => true): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile() && filter(e.name)) total += (await stat(join(e.parentPath, e.name))).size;
  }
  return total;
}

/** Writes `data` in slices (a single write of more than 2 GiB fails). */
async function writeBig(path: string, data: Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const h = await open(path, 'w');
  try {
    for (let at = 0; at < data.byteLength; at += 1 << 28) await h.write(data.subarray(at, Math.min(data.byteLength, at + (1 << 28))));
  } finally {
    await h.close();
  }
}

/**
 * The fp32 export: every component from the fixture builder with a 2-layer transformer (its files
 * hash within Node's 2 GiB limit), then the transformer rebuilt with all its layers and written in slices.
 */
async function stepBuild(a: Args): Promise<void> {
  const t0 = performance.now();
  const out = join(a.dir, 'src-fp32');
  const small = benchConfig(2);
  let bytes = 0;
  let transformerConfig: Record<string, unknown> = {};
  for (const [path, data] of buildFixtureFiles(small)) {
    if (path === 'pack.json' || (path.startsWith('transformer/') && path !== 'transformer/config.json')) continue;
    if (path === 'transformer/config.json') {
      transformerConfig = JSON.parse(new TextDecoder().decode(data)) as Record<string, unknown>;
      continue;
    }
    await writeBig(join(out, path), data);
    bytes += data.byteLength;
  }
  const big = benchConfig(a.layers);
  const t = big.transformer;
  const m = buildSd3Transformer(t, deriveSeed(big.seed, 'transformer')).serialize({ externalDataFile: 'model.onnx_data' });
  await writeBig(join(out, 'transformer/model.onnx'), m.model);
  await writeBig(join(out, 'transformer/model.onnx_data'), m.externalData);
  const cfg = new TextEncoder().encode(`${JSON.stringify({ ...transformerConfig, num_layers: t.layers, dual_attention_layers: t.dualAttentionLayers }, null, 2)}\n`);
  await writeBig(join(out, 'transformer/config.json'), cfg);
  bytes += m.model.byteLength + m.externalData.byteLength + cfg.byteLength;
  console.log(JSON.stringify({ step: 'build', bytes, seconds: (performance.now() - t0) / 1000, peakRssMb: peakRssMb() }));
}

async function stepFp16(a: Args): Promise<void> {
  const out = join(a.dir, 'src-fp16');
  await rm(out, { recursive: true, force: true });
  const t0 = performance.now();
  await convertToPack(folderSource(join(a.dir, 'src-fp32')), folderSink(out), { variants: ['fp16'], resume: false, id: 'bench-fp16', name: 'bench fp16 source' });
  // An optimum-layout fp16 export: model.onnx per component (its external data keeps the shard names it records).
  for (const e of await readdir(out, { withFileTypes: true })) {
    if (e.isDirectory() && existsSync(join(out, e.name, 'model_fp16.onnx'))) await rename(join(out, e.name, 'model_fp16.onnx'), join(out, e.name, 'model.onnx'));
  }
  await rm(join(out, 'pack.json'), { force: true });
  await rm(join(out, '.convert-state.json'), { force: true });
  console.log(JSON.stringify({ step: 'fp16', bytes: await dirBytes(out), seconds: (performance.now() - t0) / 1000, peakRssMb: peakRssMb() }));
}

async function stepQ4(a: Args): Promise<void> {
  const src = join(a.dir, 'src-fp16');
  const out = join(a.dir, 'out-q4');
  await rm(out, { recursive: true, force: true });
  let tensors = 0;
  const t0 = performance.now();
  const m = await convertToPack(folderSource(src), folderSink(out), {
    variants: ['q4'],
    resume: false,
    id: 'bench-q4',
    name: 'bench q4',
    onProgress: (e) => void (tensors = e.tensorsTotal),
  });
  const seconds = (performance.now() - t0) / 1000;
  const sourceBytes = await dirBytes(src, (n) => n.includes('.onnx'));
  const sourceTransformer = await dirBytes(join(src, 'transformer'), (n) => n.includes('.onnx'));
  const outTransformer = m.components.transformer.variants.q4!.files.reduce((s, f) => s + f.bytes, 0);
  const outBytes = await dirBytes(out, (n) => n.includes('.onnx'));
  console.log(
    JSON.stringify({
      step: 'q4',
      seconds,
      tensors,
      sourceBytes,
      outBytes,
      sourceMBps: sourceBytes / 1e6 / seconds,
      transformerSourceBytes: sourceTransformer,
      transformerQ4Bytes: outTransformer,
      ratio: outTransformer / sourceTransformer,
      peakRssMb: peakRssMb(),
    }),
  );
}

function child(a: Args, step: Args['step']): Record<string, number> {
  const r = spawnSync(process.execPath, [...process.execArgv, SCRIPT, '--step', step, '--layers', String(a.layers), '--dir', a.dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) throw new Error(`step ${step} failed (exit ${r.status})\n${r.stdout}`);
  const line = r.stdout.trim().split('\n').pop()!;
  return JSON.parse(line) as Record<string, number>;
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  if (a.step === 'build') return stepBuild(a);
  if (a.step === 'fp16') return stepFp16(a);
  if (a.step === 'q4') return stepQ4(a);

  const stamp = join(a.dir, 'bench.json');
  const want = JSON.stringify(benchConfig(a.layers));
  const have = await readFile(stamp, 'utf8').catch(() => null);
  if (a.rebuild || have !== want || !existsSync(join(a.dir, 'src-fp16', 'transformer', 'model.onnx'))) {
    await rm(a.dir, { recursive: true, force: true });
    const b = child(a, 'build');
    console.log(`built fp32 export: ${(b.bytes! / 1e9).toFixed(2)} GB in ${b.seconds!.toFixed(1)} s (peak RSS ${b.peakRssMb!.toFixed(0)} MB)`);
    const f = child(a, 'fp16');
    console.log(`fp32 → fp16 source: ${(f.bytes! / 1e9).toFixed(2)} GB in ${f.seconds!.toFixed(1)} s (peak RSS ${f.peakRssMb!.toFixed(0)} MB)`);
    await rm(join(a.dir, 'src-fp32'), { recursive: true, force: true });
    await writeFile(stamp, want);
  }
  const q = child(a, 'q4');
  const line = (k: string, v: string) => console.log(`${k.padEnd(28)} ${v}`);
  console.log('\nfp16 → q4 conversion (CLI code path, folder source and sink)');
  line('source (all .onnx files)', `${(q.sourceBytes! / 1e9).toFixed(3)} GB`);
  line('time', `${q.seconds!.toFixed(1)} s, ${q.tensors} tensors`);
  line('throughput', `${q.sourceMBps!.toFixed(1)} MB/s of source`);
  line('transformer fp16 → q4', `${(q.transformerSourceBytes! / 1e6).toFixed(0)} MB → ${(q.transformerQ4Bytes! / 1e6).toFixed(0)} MB (ratio ${q.ratio!.toFixed(3)})`);
  line('peak RSS', `${q.peakRssMb!.toFixed(0)} MB (limit ${RSS_LIMIT_MB} MB)`);
  if (q.peakRssMb! > RSS_LIMIT_MB) {
    console.error(`peak RSS ${q.peakRssMb!.toFixed(0)} MB exceeds ${RSS_LIMIT_MB} MB`);
    process.exit(1);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
