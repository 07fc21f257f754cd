/**
 * Writes the tiny random-weight SD3 fixture model folders.
 *
 *   tsx scripts/make-fixtures.ts [--out DIR] [--seed N] [--no-t5] [--force]
 *
 * Without --out / --no-t5 it writes both public/models/tiny-sd3 (with T5) and public/models/tiny-sd3-no-t5
 * (same seed, no T5). With --out or --no-t5 it writes that one folder (default public/models/tiny-sd3,
 * or public/models/tiny-sd3-no-t5 for --no-t5 alone). A folder whose fixture.json still matches is skipped.
 */
import { resolve, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_FIXTURE, type FixtureConfig } from '../src/fixtures/fixture-config.js';
import { writeFixture } from '../src/fixtures/write-fixture.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..');
const DEFAULT_OUT = resolve(ROOT, 'public/models/tiny-sd3');
const DEFAULT_OUT_NO_T5 = resolve(ROOT, 'public/models/tiny-sd3-no-t5');

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
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
