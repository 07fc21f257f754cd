/**
 * Converts an SD3 ONNX export (folder or HTTP(S) base URL; optimum or Olive layout) into a browser
 * model pack.
 *
 *   npm run convert -- <source dir or URL> <out-dir> [--variants q4f16,q4] [--components transformer,…]
 *                      [--shard-mib 512] [--id ID --name NAME] [--crop-pos-embed N] [--no-resume]
 *
 * Re-running on the same output resumes: finished files whose size and sha256 still match are kept.
 */
import { resolve } from 'node:path';
import { convertToPack, type ConvertProgress } from '../src/convert/convert.js';
import { folderSink } from '../src/convert/folder-sink.js';
import { folderSource } from '../src/convert/folder-source.js';
import { httpSource } from '../src/convert/sources.js';
import { toWebDiffusionError } from '../src/errors.js';
import type { Variant } from '../src/protocol.js';

const USAGE =
  'usage: npm run convert -- <source dir or http(s) URL> <out-dir> [--variants q4f16,q4] [--components transformer,…] [--shard-mib 512] [--id ID] [--name NAME] [--crop-pos-embed N] [--no-resume]';

function fail(message: string, code = 2): never {
  console.error(`convert: ${message}`);
  console.error(USAGE);
  process.exit(code);
}

interface Args {
  source: string;
  out: string;
  variants: Variant[];
  components?: string[];
  shardMib: number;
  id?: string;
  name?: string;
  crop?: number;
  resume: boolean;
}

function parseArgs(argv: string[]): Args {
  const positional: string[] = [];
  const args: Partial<Args> = { variants: ['q4f16', 'q4'], shardMib: 512, resume: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v === undefined || v === '') fail(`${a} needs a value`);
      return v;
    };
    const flag = a.split('=')[0];
    if (flag === '--variants') {
      const list = value().split(',').map((s) => s.trim());
      for (const v of list) if (!['fp32', 'fp16', 'q4', 'q4f16'].includes(v)) fail(`unknown variant ${v} (fp32, fp16, q4, q4f16)`);
      args.variants = list as Variant[];
    } else if (flag === '--components') args.components = value().split(',').map((s) => s.trim());
    else if (flag === '--shard-mib') {
      const n = Number(value());
      if (!(n > 0) || n > 2047) fail('--shard-mib must be in (0, 2047]');
      args.shardMib = n;
    } else if (flag === '--id') args.id = value();
    else if (flag === '--name') args.name = value();
    else if (flag === '--crop-pos-embed') {
      const n = Number(value());
      if (!Number.isInteger(n) || n < 1) fail('--crop-pos-embed must be a positive integer (patches per side)');
      args.crop = n;
    } else if (a === '--no-resume') args.resume = false;
    else if (a === '--help' || a === '-h') fail('help', 0);
    else if (a.startsWith('--')) fail(`unknown option ${a}`);
    else positional.push(a);
  }
  if (positional.length !== 2) fail('need a source and an output folder');
  return { ...(args as Args), source: positional[0]!, out: resolve(process.cwd(), positional[1]!) };
}

const mb = (n: number): string => (n / 1e6).toFixed(n < 1e7 ? 2 : 0);
function duration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '--:--';
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

function progressPrinter(): (e: ConvertProgress) => void {
  const tty = process.stderr.isTTY;
  let lastLine = '';
  let lastAt = 0;
  return (e) => {
    const what = `${e.component}${e.variant ? ` ${e.variant}` : ''}`;
    if (tty) {
      const now = Date.now();
      if (now - lastAt < 100 && e.phase === 'converting') return;
      lastAt = now;
      const frac = e.bytesTotal ? e.bytesDone / e.bytesTotal : 0;
      const width = 24;
      const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '.');
      const line = `[${bar}] ${(frac * 100).toFixed(1).padStart(5)}% ${mb(e.bytesDone)}/${mb(e.bytesTotal)} MB  tensors ${e.tensorsDone}/${e.tensorsTotal}  left ${duration(e.etaMs)}  ${e.phase} ${what}`;
      const cols = process.stderr.columns || 120;
      process.stderr.write(`\r${line.slice(0, cols - 1).padEnd(Math.min(cols - 1, lastLine.length))}`);
      lastLine = line;
      if (e.phase === 'done') process.stderr.write('\n');
    } else {
      // Plain lines: one per file and phase change.
      const line = `${e.phase} ${what}${e.file ? ` ${e.file}` : ''}`;
      if (line === lastLine) return;
      lastLine = line;
      console.error(`${line}  (${mb(e.bytesDone)}/${mb(e.bytesTotal)} MB, tensors ${e.tensorsDone}/${e.tensorsTotal}, left ${duration(e.etaMs)})`);
    }
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const source = /^https?:\/\//.test(args.source) ? httpSource(args.source) : folderSource(resolve(process.cwd(), args.source));
  const t0 = performance.now();
  const manifest = await convertToPack(source, folderSink(args.out), {
    variants: args.variants,
    components: args.components,
    shardBytes: Math.floor(args.shardMib * 1024 * 1024),
    id: args.id,
    name: args.name,
    resume: args.resume,
    plan: args.crop ? { cropPosEmbedTo: args.crop } : undefined,
    onProgress: progressPrinter(),
  });
  const files = Object.values(manifest.components).flatMap((c) => Object.values(c?.variants ?? {}).flatMap((v) => v?.files ?? []));
  const bytes = files.reduce((a, f) => a + f.bytes, 0);
  console.log(`${args.out}: pack "${manifest.id}" (${args.variants.join(', ')}), ${files.length} model files, ${mb(bytes)} MB, in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

main().catch((err: unknown) => {
  if (process.stderr.isTTY) process.stderr.write('\n');
  const e = toWebDiffusionError(err);
  console.error(`convert: ${e.code}: ${e.message}`);
  if (e.hint) console.error(`  hint: ${e.hint}`);
  if (e.code === 'INTERNAL' && err instanceof Error && err.stack) console.error(err.stack);
  process.exit(1);
});
