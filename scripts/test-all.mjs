#!/usr/bin/env node
// `npm test`: everything CI runs, in order: typecheck, fixtures, unit + native-reference tests,
// build, end-to-end tests in Chromium. Ends with one summary line "N passed, N failed".
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';

mkdirSync('test-results', { recursive: true });
const step = (title, cmd, args) => {
  console.log(`\n=== ${title}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  return r.status === 0;
};
const readJson = (p) => (existsSync(p) ? JSON.parse(readFileSync(p, 'utf8')) : null);

let ok = step('typecheck', 'npm', ['run', '--silent', 'typecheck']);
ok = step('fixtures', 'npx', ['tsx', 'scripts/make-fixtures.ts']) && ok;
const unitOk = step('unit and native-reference tests', 'npx', ['vitest', 'run', '--reporter=default', '--reporter=json', '--outputFile.json=test-results/vitest.json']);
const buildOk = step('build', 'npx', ['vite', 'build']) && step('library build (dist-lib, for the embedding tests)', 'npm', ['run', '--silent', 'build:lib']);
const e2eOk = buildOk && step('end-to-end tests (Chromium)', 'npx', ['playwright', 'test']);

const unit = readJson('test-results/vitest.json');
const e2e = readJson('test-results/playwright.json');
const passed = (unit?.numPassedTests ?? 0) + (e2e?.stats?.expected ?? 0);
const failed = (unit?.numFailedTests ?? 0) + (e2e?.stats?.unexpected ?? 0) + (e2e?.stats?.flaky ?? 0);
const skipped = (unit?.numPendingTests ?? 0) + (e2e?.stats?.skipped ?? 0);
const allOk = ok && unitOk && buildOk && e2eOk;
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
if (!allOk) console.log('Some step failed: see the sections above.');
process.exit(allOk ? 0 : 1);
