/**
 * Writes the tiny random-weight SD3 fixture model folders.
 *
 *   tsx scripts/make-fixtures.ts [--out DIR] [--seed N] [--no-t5] [--force]
 *
 * Without --out / --no-t5 it writes both public/models/tiny-sd3 (with T5) and public/models/tiny-sd3-no-t5
 * (same seed, no T5). With --out or --no-t5 it writes that one folder (default public/models/tiny-sd3,
 * or public/models/tiny-sd3-no-t5 for --no-t5 alone). A folder whose fixture.json still matches is skipped.
 * Without --out / --no-t5 it also converts public/models/tiny-sd3 into the demo pack public/models/tiny-sd3-q4
 * (variants q4 and q4f16) with the converter, skipped while the fixture and the converter sources are unchanged.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve, relative } from 'node:path';
import { convertToPack } from '../src/convert/convert.js';
import { folderSink } from '../src/convert/folder-sink.js';
import { folderSource } from '../src/convert/folder-source.js';
import { fileURLToPath } from 'node:url';
import { DEFAULT_FIXTURE, type FixtureConfig } from '../src/fixtures/fixture-config.js';
import { FIXTURE_LICENSE, FIXTURE_MANIFEST, writeFixture } from '../src/fixtures/write-fixture.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..');
const DEFAULT_OUT = resolve(ROOT, 'public/models/tiny-sd3');
const DEFAULT_OUT_NO_T5 = resolve(ROOT, 'public/models/tiny-sd3-no-t5');
const DEFAULT_OUT_Q4 = resolve(ROOT, 'public/models/tiny-sd3-q4');
const Q4_STAMP = '.fixture-stamp';

/** Converts the fixture folder `from` into the demo q4 pack `to`, unless its stamp says it is current. */
async function convertDemoPack(from: string, to: string, force: boolean): Promise<void> {
  const convertDir = resolve(ROOT, 'src/convert');
  const h = createHash('sha256').update(await readFile(join(from, FIXTURE_MANIFEST)));
  for (const f of readdirSync(convertDir).filter((n) => n.endsWith('.ts')).sort()) h.update(f).update(readFileSync(join(convertDir, f)));
  const stamp = h.digest('hex');
  const rel = relative(process.cwd(), to) || '.';
  const old = await readFile(join(to, Q4_STAMP), 'utf8').catch(() => null);
  const hasPack = await readFile(join(to, 'pack.json')).then(() => true, () => false);
  if (!force && old === stamp && hasPack) {
    console.log(`${rel}: up to date (converted pack)`);
    return;
  }
  const t0 = performance.now();
  await rm(to, { recursive: true, force: true });
  const m = await convertToPack(folderSource(from), folderSink(to), {
    variants: ['q4', 'q4f16'],
    id: 'tiny-sd3-q4',
    name: 'Tiny SD3 fixture, 4-bit (converted)',
    license: FIXTURE_LICENSE,
    recommended: { steps: 8, guidance: 4.5, width: 256, height: 256 },
    resume: false,
  });
  await writeFile(join(to, Q4_STAMP), stamp);
  const files = Object.values(m.components).flatMap((c) => Object.values(c?.variants ?? {}).flatMap((v) => v?.files ?? []));
  const bytes = files.reduce((a, f) => a + f.bytes, 0);
  console.log(`${rel}: converted ${files.length} model files, ${(bytes / 1e6).toFixed(2)} MB in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

interface Args {
  out: string | null;
  seed: number;
  noT5: boolean;
  force: boolean;
}

function usage(message?: string): never {
  if (message) console.error(`make-fixtures: ${message}`);
  console.error('usage: tsx scripts/make-fixtures.ts [--out DIR] [--seed N] [--no-t5] [--force]');
  process.exit(2);
}

function parseArgs(argv: string[]): Args {
  const args: Args = { out: null, seed: DEFAULT_FIXTURE.seed, noT5: false, force: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v === undefined || v === '') usage(`${a} needs a value`);
      return v;
    };
    if (a === '--out' || a.startsWith('--out=')) args.out = resolve(process.cwd(), value());
    else if (a === '--seed' || a.startsWith('--seed=')) {
      const n = Number(value());
      if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) usage('--seed must be an integer in [0, 2^32)');
      args.seed = n;
    } else if (a === '--no-t5') args.noT5 = true;
    else if (a === '--force') args.force = true;
    else if (a === '--help' || a === '-h') usage();
    else usage(`unknown argument ${a}`);
  }
  return args;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const base: FixtureConfig = { ...DEFAULT_FIXTURE, seed: args.seed };
  const jobs: Array<[string, FixtureConfig]> = [];
  if (args.out === null && !args.noT5) {
    jobs.push([DEFAULT_OUT, base], [DEFAULT_OUT_NO_T5, { ...base, t5: null }]);
  } else {
    const config = args.noT5 ? { ...base, t5: null } : base;
    jobs.push([args.out ?? (args.noT5 ? DEFAULT_OUT_NO_T5 : DEFAULT_OUT), config]);
  }
  for (const [out, config] of jobs) {
    const t0 = performance.now();
    const s = await writeFixture(out, config, { force: args.force });
    const rel = relative(process.cwd(), out);
    const name = rel === '' ? '.' : rel.startsWith('..') ? out : rel;
    const count = Object.keys(s.files).length;
    const mb = (s.totalBytes / 1e6).toFixed(2);
    if (s.upToDate) console.log(`${name}: up to date (${count} files, ${mb} MB)`);
    else console.log(`${name}: wrote ${count} files, ${s.totalBytes} bytes (${mb} MB) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  if (args.out === null && !args.noT5) await convertDemoPack(DEFAULT_OUT, DEFAULT_OUT_Q4, args.force);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
