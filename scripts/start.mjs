#!/usr/bin/env node
// `npm start`: make the demo model if missing, build if the build is missing or older than the
// sources, then serve with COOP/COEP headers.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { stdio: 'inherit', shell: process.platform === 'win32' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
const newest = (path) => {
  if (!existsSync(path)) return 0;
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  return readdirSync(path).reduce((m, f) => Math.max(m, newest(join(path, f))), s.mtimeMs);
};

run('npx', ['tsx', 'scripts/make-fixtures.ts']);
const built = existsSync('dist/index.html') ? statSync('dist/index.html').mtimeMs : 0;
const sources = Math.max(...['src', 'workers', 'public', 'index.html', 'vite.config.ts', 'package-lock.json'].map(newest));
if (sources > built) run('npx', ['vite', 'build']);
else console.log('build is up to date');
run('node', ['scripts/serve.mjs', ...process.argv.slice(2)]);
