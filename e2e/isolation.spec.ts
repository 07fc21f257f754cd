/**
 * Cross-origin isolation where the host cannot send headers (GitHub Pages and the like): served by
 * scripts/serve.mjs --no-isolation, the first visit registers the service worker and reloads once;
 * under the worker the page is cross-origin isolated and WASM runs multi-threaded. Without the
 * worker (blocked, or the one reload already spent) the app still works, single-threaded.
 */
import { expect, test, type Page } from '@playwright/test';
import { DEFAULT_FIXTURE } from '../src/fixtures/fixture-config.js';
import { buildFixtureFiles } from '../src/fixtures/write-fixture.js';
import { AppPage } from './app-page.js';
import { wasmOnly } from './journeys.js';
import { startPackServer, type PackServer } from './pack-server.js';
import { startStaticHost, type StaticHost } from './static-host.js';

const DIST = process.env.E2E_DIST ?? 'dist';
let host: StaticHost;
/** The tiny model on another origin (CORS), as a pack host would serve it. */
let packs: PackServer;

test.beforeAll(async ({}, info) => {
  test.skip(info.project.name !== 'wasm', 'isolation is about WASM threads: runs in the wasm project');
  host = await startStaticHost(DIST, { isolation: false });
  const files = new Map<string, Uint8Array>();
  for (const [path, data] of buildFixtureFiles(DEFAULT_FIXTURE)) files.set(`tiny-sd3/${path}`, data);
  packs = await startPackServer({ files });
});
test.afterAll(async () => {
  await host?.close();
  await packs?.close();
});

/** Counts the page's documents (the first one included), and the web workers each one started. */
function watchDocuments(page: Page): { loads: () => number; workersOfLast: () => number } {
  let loads = 0;
  const workers: number[] = [];
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) loads++;
  });
  page.on('worker', () => workers.push(loads));
  return { loads: () => loads, workersOfLast: () => workers.filter((n) => n === loads).length };
}

async function capability(page: Page, name: string): Promise<string> {
  const details = page.locator('#capabilities');
  if ((await details.getAttribute('open')) === null) await details.locator('summary').click();
  return (await page.locator('#capability-list dt', { hasText: name }).locator('+ dd').textContent()) ?? '';
}

test('without headers, the service worker isolates the page after one reload and WASM uses more than one thread', async ({ page }) => {
  wasmOnly();
  const { loads, workersOfLast } = watchDocuments(page);
  const first = await page.goto(`${host.url}?model=tiny-sd3&packBase=${encodeURIComponent(packs.url)}`);
  // The host really sends no isolation headers.
  expect(first!.headers()['cross-origin-embedder-policy']).toBeUndefined();
  expect(first!.headers()['cross-origin-opener-policy']).toBeUndefined();
  const app = new AppPage(page);
  await app.waitReady();
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
  expect(loads()).toBe(2); // the first load, then exactly one reload under the service worker
  expect(await page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);
  // Weights from another origin load under COEP (CORS mode), each file once: the download starts
  // only after the reload, and the service worker lets it through.
  const weights = packs.log.filter((l) => l.method === 'GET' && l.path !== 'tiny-sd3/pack.json').map((l) => l.path);
  expect(weights.length).toBeGreaterThan(5);
  expect(new Set(weights).size).toBe(weights.length);
  expect(packs.log.every((l) => l.status === 200 || l.status === 206)).toBe(true);

  expect(await capability(page, 'Cross-origin isolated')).toBe('yes');
  const threads = Number(await capability(page, 'WASM threads'));
  expect(threads).toBeGreaterThan(1);
  expect(await app.backendText()).toContain('cross-origin isolated: yes');
  await app.fill({ steps: 2, seed: 11 });
  await app.generate();
  // onnxruntime started its thread pool: web workers beyond the generator worker.
  expect(workersOfLast()).toBeGreaterThan(1);

  // Later loads are served isolated at once: no further reload.
  await page.reload();
  await app.waitReady();
  expect(loads()).toBe(3);
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
});

test('a tab that already reloaded once for isolation never reloads again; the app works single-threaded', async ({ page }) => {
  wasmOnly();
  // As if this tab's one reload had not isolated the page (a browser that cannot): the flag is set.
  await page.addInitScript(() => sessionStorage.setItem('webdiffusion:reloaded-for-isolation', '1'));
  const { loads } = watchDocuments(page);
  const app = new AppPage(page);
  await page.goto(`${host.url}?model=tiny-sd3`);
  await app.waitReady();
  await expect(page.locator('#offline-status')).toHaveText('Available offline'); // the worker took control…
  expect(loads()).toBe(1); // …and the page did not reload
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(false);
  expect(await capability(page, 'WASM threads')).toBe('1');
  await app.fill({ steps: 2, seed: 11 });
  await app.generate();
  expect(loads()).toBe(1);
});

test.describe('with service workers blocked', () => {
  test.use({ serviceWorkers: 'block' });
  test('the app works without isolation, single-threaded, with no reload', async ({ page }) => {
    wasmOnly();
    const { loads, workersOfLast } = watchDocuments(page);
    const app = new AppPage(page);
    await page.goto(`${host.url}?model=tiny-sd3`);
    await app.waitReady();
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(false);
    expect(await capability(page, 'Cross-origin isolated')).toContain('no');
    expect(await capability(page, 'WASM threads')).toBe('1');
    await app.fill({ steps: 2, seed: 11 });
    await app.generate();
    expect(loads()).toBe(1);
    expect(workersOfLast()).toBe(1); // the generator worker alone: no thread pool
  });
});
