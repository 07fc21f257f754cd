/**
 * The weight store's hard cases through the real app (until now unit-tested only): a server that
 * ignores Range (the file restarts cleanly), a chunk corrupted once (refetched) and for good (a
 * clear error naming the file, the model not installed), a pack larger than the available space
 * (refused before any weight request), and the origin's quota running out mid-way (Chromium's own
 * quota, lowered through the DevTools protocol while the download runs: the worker's IndexedDB
 * write fails with a real QuotaExceededError), after which the download resumes.
 */
import { expect, test, type Page } from '@playwright/test';
import { createHash } from 'node:crypto';
import { DEFAULT_FIXTURE } from '../src/fixtures/fixture-config.js';
import { buildFixtureFiles } from '../src/fixtures/write-fixture.js';
import { AppPage } from './app-page.js';
import { startPackServer, type PackServer } from './pack-server.js';

const MODEL = 'tiny-sd3';
const fixtureFiles = buildFixtureFiles(DEFAULT_FIXTURE);
const WEIGHTS = `${MODEL}/transformer/model.onnx_data`;
const sha = (d: Uint8Array) => createHash('sha256').update(d).digest('hex');
const manifestOf = () => JSON.parse(new TextDecoder().decode(fixtureFiles.get('pack.json'))) as {
  tokenizers: Record<string, { path: string; bytes: number; sha256: string }[]>;
  components: Record<string, { variants: Record<string, { files: { path: string; bytes: number; sha256: string }[] }> }>;
};

/** The demo pack, optionally with its pack.json edited. */
function packFiles(edit?: (m: ReturnType<typeof manifestOf>, files: Map<string, Uint8Array>) => void): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  for (const [p, d] of fixtureFiles) files.set(`${MODEL}/${p}`, d);
  if (edit) {
    const m = manifestOf();
    edit(m, files);
    files.set(`${MODEL}/pack.json`, new TextEncoder().encode(JSON.stringify(m)));
  }
  return files;
}

/**
 * A file larger than several store chunks (16 MiB each; at most 64 MiB), listed with the T5 tokenizer (as a real T5
 * tokenizer's spiece.model would be): so a dropped connection leaves a stored chunk to resume from.
 */
const BIG_PATH = 'tokenizer_3/spiece.model';
const BIG_BYTES = 70 * 1024 * 1024;
function bigFile(): Uint8Array {
  const out = new Uint8Array(BIG_BYTES);
  const view = new Uint32Array(out.buffer);
  let x = 7;
  for (let i = 0; i < view.length; i++) {
    x = (x * 1664525 + 1013904223) >>> 0;
    view[i] = x;
  }
  return out;
}

let server: PackServer;
const files = new Map<string, Uint8Array>();

test.describe.configure({ mode: 'serial' });
test.beforeAll(async ({}, info) => {
  test.skip(info.project.name !== 'wasm', 'the store does not depend on the compute backend; the wasm project runs it');
  server = await startPackServer({ files });
});
test.afterAll(async () => {
  await server?.close();
});
test.beforeEach(() => {
  server.resetStats();
  server.knobs.ignoreRange = false;
  server.knobs.abortAt.clear();
  server.knobs.corrupt.clear();
  server.knobs.throttleBytesPerSec = 0;
  files.clear();
  for (const [p, d] of packFiles()) files.set(p, d);
});

const query = () => `?packBase=${encodeURIComponent(server.url)}&model=${MODEL}`;
const gets = (path: string) => server.log.filter((l) => l.method === 'GET' && l.path === path);
const weightGets = () => server.log.filter((l) => l.method === 'GET' && !l.path.endsWith('pack.json'));

async function openStoragePanel(page: Page): Promise<void> {
  const details = page.locator('#storage-details');
  if ((await details.getAttribute('open')) === null) await details.locator('summary').click();
}

async function expectLoadError(app: AppPage, code: string): Promise<string> {
  await expect(app.page.locator('body')).toHaveAttribute('data-state', 'error');
  const err = await app.lastError();
  expect(err?.code).toBe(code);
  return (await app.page.locator('#error').textContent()) ?? '';
}

test('a server without Range support: after a dropped connection the file restarts cleanly from byte 0 and installs', async ({ page }) => {
  const big = bigFile();
  for (const [p, d] of packFiles((m, f) => {
    m.tokenizers.tokenizer_3!.push({ path: BIG_PATH, bytes: big.byteLength, sha256: sha(big) });
    f.set(`${MODEL}/${BIG_PATH}`, big);
  }))
    files.set(p, d);
  server.knobs.ignoreRange = true;
  // Dropped after 64 MiB (whole chunks) are stored: the retry asks for the rest by Range.
  server.knobs.abortAt.set(`${MODEL}/${BIG_PATH}`, [66 * 1024 * 1024]);
  const app = new AppPage(page);
  await app.open(query());
  await app.waitReady();
  const log = gets(`${MODEL}/${BIG_PATH}`);
  expect(log).toHaveLength(2);
  expect(log[0]).toMatchObject({ range: null, status: 200 });
  expect(log[0]!.bytes).toBeLessThan(big.byteLength);
  // The resume asked from the stored chunk; the server sent the whole file; the store started over.
  expect(log[1]!.range).toBe(`bytes=${64 * 1024 * 1024}-`);
  expect(log[1]).toMatchObject({ status: 200, bytes: big.byteLength });
  await openStoragePanel(page);
  await page.getByRole('button', { name: 'Verify Demo', exact: true }).click();
  const item = page.locator(`[data-model-id="${MODEL}"]`);
  await expect(item.locator('.storage-message')).toContainText('files verified');
  await app.fill({ steps: 2, seed: 1 });
  await app.generate();
});

test('a chunk corrupted once is detected, fetched again and installed', async ({ page }) => {
  server.knobs.corrupt.set(WEIGHTS, { offset: 1234, times: 1 });
  const app = new AppPage(page);
  await app.open(query());
  await app.waitReady();
  expect(gets(WEIGHTS)).toHaveLength(2);
  expect(server.knobs.corrupt.get(WEIGHTS)!.times).toBe(0);
  await app.fill({ steps: 2, seed: 2 });
  await app.generate();
});

test('a chunk corrupted for good: a clear error naming the file, and the model is not installed', async ({ page }) => {
  server.knobs.corrupt.set(WEIGHTS, { offset: 1234, times: Infinity });
  const app = new AppPage(page);
  await app.open(query());
  const text = await expectLoadError(app, 'MODEL_FILE_CORRUPT');
  expect(text).toContain('transformer/model.onnx_data');
  expect(gets(WEIGHTS)).toHaveLength(2); // fetched, then refetched once
  await openStoragePanel(page);
  await expect(page.locator(`[data-model-id="${MODEL}"]`)).toHaveAttribute('data-state', 'installing');
  await expect(page.locator(`[data-model-id="${MODEL}"] .storage-status`)).toContainText('paused');
  await app.screenshot('edge-corrupt-for-good');
});

test('a pack larger than the available space is refused before any weight is requested', async ({ page }) => {
  const huge = 2 ** 50; // 1 PiB: more than any test machine offers
  for (const [p, d] of packFiles((m) => {
    const f = m.components.transformer!.variants.fp32!.files.find((x) => x.path.endsWith('model.onnx_data'))!;
    f.bytes = huge;
  }))
    files.set(p, d);
  const app = new AppPage(page);
  await app.open(query());
  const text = await expectLoadError(app, 'STORAGE_FULL');
  expect(text).toMatch(/needs .*\(\d+ bytes\).* \(\d+ bytes\) is available/);
  const err = await app.lastError();
  const needed = Number(err!.message.match(/needs .*?\((\d+) bytes\)/)![1]);
  expect(needed).toBeGreaterThan(huge);
  expect(server.log.filter((l) => l.method === 'GET').map((l) => l.path)).toEqual([`${MODEL}/pack.json`]);
  expect(weightGets()).toEqual([]);
});

test('the quota runs out mid-way: STORAGE_FULL with the bytes, stored files kept; with space back the download resumes', async ({ page, baseURL }) => {
  const app = new AppPage(page);
  const cdp = await page.context().newCDPSession(page);
  const origin = new URL(baseURL!).origin;
  // The disk holds less than navigator.storage.estimate() says (an override is not reflected
  // there): the space check passes, and Chromium's quota manager refuses an IndexedDB write half-way
  // through the pack with a real QuotaExceededError.
  const needed = [...files].filter(([p]) => p.startsWith(`${MODEL}/`)).reduce((s, [, d]) => s + d.byteLength, 0);
  await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: Math.round(needed / 2) });
  await app.open(query());
  const text = await expectLoadError(app, 'STORAGE_FULL');
  expect(text).toMatch(/Not enough storage for .+: it needs .*; .* is available/);
  // Files received whole before the failure, except the last one (its write is the one that failed).
  const received = weightGets();
  const complete = received.slice(0, -1).filter((l) => l.bytes === files.get(l.path)?.byteLength).map((l) => l.path);
  expect(complete.length).toBeGreaterThan(0);
  await openStoragePanel(page);
  const item = page.locator(`[data-model-id="${MODEL}"]`);
  await expect(item).toHaveAttribute('data-state', 'installing');
  await expect(item.locator('.storage-status')).toContainText(/paused · \d/);
  await app.screenshot('edge-quota-mid-way');

  // Space again (the override lifted): Resume finishes; files stored before are not fetched again.
  await cdp.send('Storage.overrideQuotaForOrigin', { origin });
  server.knobs.throttleBytesPerSec = 0;
  const countBefore = server.log.length;
  await page.getByRole('button', { name: 'Resume Demo', exact: true }).click();
  await expect(item).toHaveAttribute('data-state', 'installed');
  const again = server.log.slice(countBefore).filter((l) => l.method === 'GET' && !l.path.endsWith('pack.json')).map((l) => l.path);
  expect(again.filter((p) => complete.includes(p))).toEqual([]);
});
