/**
 * The weight store through the real app, as a person meets it: the first visit installs the model
 * from a separate pack host (CORS, byte ranges, request counting); after that the model loads and
 * generates with the weight host unreachable; two tabs opened at once download each file once; a
 * reload mid-download resumes without refetching finished files; a browser restart keeps the model.
 */
import { chromium, expect, test, type Page } from '@playwright/test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_FIXTURE } from '../src/fixtures/fixture-config.js';
import { buildFixtureFiles } from '../src/fixtures/write-fixture.js';
import { AppPage } from './app-page.js';
import { BASE_ARGS, requireChromium } from './chromium.js';
import { startPackServer, type PackServer } from './pack-server.js';

const MODEL = 'tiny-sd3';
const packFiles = new Map<string, Uint8Array>();
const fixtureFiles = buildFixtureFiles(DEFAULT_FIXTURE);
for (const [path, data] of fixtureFiles) packFiles.set(`${MODEL}/${path}`, data);
/** The same tiny pack served under two Stability model ids, to exercise the licence gate. */
const STABILITY_IDS = ['sd35-medium', 'sd35-medium-turbo'];
for (const id of STABILITY_IDS) {
  for (const [path, data] of fixtureFiles) {
    // A pack names its model: the copies say which model they are (the installer checks it).
    const bytes = path === 'pack.json' ? new TextEncoder().encode(JSON.stringify({ ...JSON.parse(new TextDecoder().decode(data)), id })) : data;
    packFiles.set(`${id}/${path}`, bytes);
  }
}
/** Bytes text-to-image needs: weights and tokenizers, not the VAE encoder or the configs. */
const neededBytes = [...packFiles]
  .filter(([p]) => p.startsWith(`${MODEL}/`))
  .filter(([p]) => !p.includes('vae_encoder') && !p.endsWith('config.json') && !p.endsWith('model_index.json') && !p.endsWith('pack.json') && !p.endsWith('fixture.json'))
  .reduce((s, [, d]) => s + d.byteLength, 0);

let server: PackServer;

test.describe.configure({ mode: 'serial' });

test.beforeAll(async ({}, info) => {
  test.skip(info.project.name !== 'wasm', 'the store does not depend on the compute backend; the wasm project runs it');
  server = await startPackServer({ files: packFiles });
});
test.afterAll(async () => {
  await server?.close();
});
test.beforeEach(() => {
  server.resetStats();
  server.knobs.throttleBytesPerSec = 0;
});

const query = () => `?packBase=${encodeURIComponent(server.url)}&model=${MODEL}`;
const weightGets = () => server.log.filter((l) => l.method === 'GET' && !l.path.endsWith('pack.json'));
const bytesSent = () => weightGets().reduce((s, l) => s + l.bytes, 0);

async function openStoragePanel(page: Page): Promise<void> {
  const details = page.locator('#storage-details');
  if ((await details.getAttribute('open')) === null) await details.locator('summary').click();
}

test('the first visit installs the model; afterwards it loads and generates with no request to the weight host', async ({ page, context }) => {
  const app = new AppPage(page);
  await app.open(query());
  await app.waitReady();
  const paths = weightGets().map((l) => l.path);
  expect(paths.length).toBeGreaterThan(5);
  expect(new Set(paths).size).toBe(paths.length); // each file once
  expect(paths.some((p) => p.includes('vae_encoder'))).toBe(false); // text to image does not need it
  await openStoragePanel(page);
  await expect(page.locator(`[data-model-id="${MODEL}"]`)).toHaveAttribute('data-state', 'installed');
  await app.fill({ steps: 2, seed: 5 });
  await app.generate();

  // Cut the weight host (Chromium's offline mode would also cut the app's own origin, which has
  // no service worker yet) and reload: everything comes from the store.
  server.resetStats();
  await context.route(`${server.url}**`, (r) => r.abort('internetdisconnected'));
  await page.reload();
  await app.waitReady();
  await app.fill({ steps: 2, seed: 6 });
  await app.generate();
  expect(server.log).toHaveLength(0);
  await app.screenshot('weight-store-offline');
});

test('two tabs opened at once download every file once', async ({ context }) => {
  server.knobs.throttleBytesPerSec = 1_500_000;
  const a = new AppPage(await context.newPage());
  const b = new AppPage(await context.newPage());
  await Promise.all([a.open(query()), b.open(query())]);
  await Promise.all([a.waitReady(), b.waitReady()]);
  const paths = weightGets().map((l) => l.path);
  expect(paths.length).toBeGreaterThan(5);
  expect(new Set(paths).size).toBe(paths.length);
  // …and each exactly once in full: the bytes sent are the sizes of the files requested.
  const sizeOf = (path: string) => packFiles.get(decodeURIComponent(path.replace(/^\//, '')))?.byteLength ?? NaN;
  expect(bytesSent()).toBe(paths.reduce((s, p) => s + sizeOf(p), 0));
});

test('a reload mid-download resumes without refetching finished files; a browser restart keeps the model', async () => {
  const executablePath = requireChromium();
  const baseURL = test.info().project.use.baseURL;
  const dir = mkdtempSync(join(tmpdir(), 'wd-profile-'));
  const launch = () => chromium.launchPersistentContext(dir, { executablePath, args: BASE_ARGS, headless: true, baseURL });
  try {
    let ctx = await launch();
    let app = new AppPage(ctx.pages()[0] ?? (await ctx.newPage()));
    server.knobs.throttleBytesPerSec = 600_000;
    await app.open(query());
    await expect.poll(bytesSent, { timeout: 30_000 }).toBeGreaterThan(neededBytes * 0.4);
    const before = new Set(weightGets().map((l) => l.path));
    const countBefore = weightGets().length;
    await app.page.reload(); // the person reloads while the model is still downloading
    await app.waitReady(); // loading the model resumes the install
    const again = weightGets().slice(countBefore).map((l) => l.path);
    // Only the file that was in flight may be fetched again (from its last stored chunk).
    expect(again.filter((p) => before.has(p)).length).toBeLessThanOrEqual(1);
    expect(bytesSent()).toBeLessThanOrEqual(neededBytes + 64 * 1024 * 1024);
    await ctx.close();

    // Browser restart with the same profile and origin: the model is there, no weight request.
    server.resetStats();
    server.knobs.throttleBytesPerSec = 0;
    ctx = await launch();
    app = new AppPage(ctx.pages()[0] ?? (await ctx.newPage()));
    await app.open(query());
    await app.waitReady();
    expect(weightGets()).toHaveLength(0);
    await ctx.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the storage panel verifies, deletes and downloads a model again', async ({ page }) => {
  const app = new AppPage(page);
  await app.open(query());
  await app.waitReady();
  await openStoragePanel(page);
  const item = page.locator(`[data-model-id="${MODEL}"]`);
  await expect(item).toHaveAttribute('data-state', 'installed');
  await page.getByRole('button', { name: 'Verify Demo', exact: true }).click();
  await expect(item.locator('.storage-message')).not.toHaveText('Verifying…');
  await expect(item.locator('.storage-message')).not.toContainText(/mismatch|corrupt|damaged/i);

  page.once('dialog', (d) => void d.accept());
  await page.getByRole('button', { name: 'Delete Demo', exact: true }).click();
  await expect(item).toHaveAttribute('data-state', 'absent');
  server.resetStats();
  await page.getByRole('button', { name: 'Download Demo', exact: true }).click();
  await expect(item).toHaveAttribute('data-state', 'installed');
  expect(weightGets().length).toBeGreaterThan(5);
  await app.screenshot('weight-store-panel');
});

test('a public ONNX export is converted to 4 bits in the browser while it downloads, then generates', async ({ page }) => {
  const app = new AppPage(page);
  await app.open(query());
  await app.waitReady();
  await openStoragePanel(page);
  // The demo folder is also an optimum export (model.onnx + model.onnx_data per component, configs).
  await page.getByLabel('Export URL').fill(`${server.url}${MODEL}/`);
  await page.getByLabel('Install as').selectOption({ label: 'SD 3.5 Medium' });
  server.resetStats();
  await page.getByRole('button', { name: 'Convert and install' }).click();
  // Converting a Stability model downloads its weights: its licence comes first.
  await page.getByRole('dialog', { name: /licence/ }).getByRole('button', { name: 'Accept and download' }).click();
  const item = page.locator('[data-model-id="sd35-medium"]');
  await expect(item).toHaveAttribute('data-state', 'installed', { timeout: 120_000 });
  // Tensors were read by byte range, not as whole files.
  expect(server.log.some((l) => l.status === 206)).toBe(true);

  // The picker now offers the converted model; it loads from the store and generates.
  await page.getByLabel('Model', { exact: true }).selectOption('sd35-medium');
  await app.waitReady();
  expect(await app.backendText()).toContain('q4');
  await app.fill({ width: 512, height: 512, steps: 2, seed: 3 });
  await app.generate();
  await app.screenshot('converted-in-browser');
});

test('a Stability model shows its licence before the first download; declining fetches nothing; accepting is asked once', async ({ page }) => {
  const app = new AppPage(page);
  await app.open(query());
  await app.waitReady();
  server.resetStats();
  const picker = page.getByLabel('Model', { exact: true });
  const dialog = page.getByRole('dialog', { name: /licence/ });
  const requestsFor = (id: string) => server.log.filter((l) => l.path.includes(`${id}/`)).length;

  await picker.selectOption('sd35-medium');
  await expect(dialog).toBeVisible();
  await expect(dialog.getByRole('link', { name: 'Stability AI Community License' })).toHaveAttribute('href', /stability\.ai/);
  await app.screenshot('license-dialog');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(page.locator('#status')).toContainText('licence was not accepted');
  await expect(picker).toHaveValue(MODEL); // the demo is still the loaded model…
  await expect(app.field('width')).toHaveValue('256'); // …with its own settings back
  expect(requestsFor('sd35-medium')).toBe(0);

  await picker.selectOption('sd35-medium');
  await dialog.getByRole('button', { name: 'Accept and download' }).click();
  const optionOf = (id: string) => page.locator(`#model option[value="${id}"]`);
  await expect(optionOf('sd35-medium')).toContainText('(ready');
  expect(requestsFor('sd35-medium')).toBeGreaterThan(5);

  // Accepted once: another model under the same licence downloads without asking, also after a reload.
  await page.reload();
  await app.waitReady();
  await picker.selectOption('sd35-medium-turbo');
  await expect(optionOf('sd35-medium-turbo')).toContainText('(ready');
  await expect(dialog).toHaveCount(0);
  expect(requestsFor('sd35-medium-turbo')).toBeGreaterThan(5);
});
