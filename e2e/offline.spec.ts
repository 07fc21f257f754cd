/**
 * Offline after the first visit: the service worker precaches the app (shell, generator worker,
 * onnxruntime's wasm), the weight store holds the model. With the network cut, a reload opens the
 * page and generates, every file coming from the service worker and no request failing.
 */
import { expect, test, type Response } from '@playwright/test';
import { AppPage } from './app-page.js';
import { wasmOnly } from './journeys.js';

test('after one visit with an installed model, the page loads and generates with the network off', async ({ page, context }) => {
  wasmOnly('the service worker does not depend on the backend: runs once, in the wasm project');
  const failed: string[] = [];
  context.on('requestfailed', (r) => failed.push(`${r.url()}: ${r.failure()?.errorText}`));
  const status = page.locator('#offline-status');

  const app = new AppPage(page);
  await app.open('?model=tiny-sd3');
  await app.waitReady();
  await expect(status).toHaveText('Available offline');
  await app.fill({ steps: 2, seed: 7 });
  await app.generate();
  const online = await app.pixels();

  // What the service worker stored: the app, never weights (they are in the weight store).
  const cached = await page.evaluate(async () => {
    const urls: string[] = [];
    for (const name of await caches.keys()) for (const r of await (await caches.open(name)).keys()) urls.push(new URL(r.url).pathname);
    return urls;
  });
  expect(cached.some((p) => p.endsWith('/index.html'))).toBe(true);
  expect(cached.some((p) => /\/assets\/generator\.worker-.*\.js$/.test(p))).toBe(true);
  expect(cached.some((p) => /\/assets\/ort-wasm.*\.wasm$/.test(p))).toBe(true);
  expect(cached.filter((p) => p.includes('/models/'))).toEqual([]);

  await context.setOffline(true);
  await expect(status).toHaveText('Offline · installed models still work');
  const responses: Response[] = [];
  page.on('response', (r) => responses.push(r));
  await page.reload();
  await app.waitReady();
  await expect(status).toHaveText('Offline · installed models still work');
  await app.fill({ steps: 2, seed: 7 });
  await app.generate();
  expect((await app.pixels()).sha256).toBe(online.sha256);
  await app.screenshot('offline-generated');

  // The page, its script and style, the generator worker and the wasm all came from the service worker.
  const served = responses
    .filter((r) => r.url().startsWith('http')) // not blob: (images the page made)
    .map((r) => ({ path: new URL(r.url()).pathname, fromSW: r.fromServiceWorker() }));
  expect(served.filter((r) => r.path.endsWith('.html') || r.path === '/').length).toBeGreaterThan(0);
  expect(served.some((r) => r.path.includes('generator.worker'))).toBe(true);
  expect(served.some((r) => r.path.endsWith('.wasm'))).toBe(true);
  expect(served.filter((r) => !r.fromSW)).toEqual([]);
  expect(failed).toEqual([]);

  await context.setOffline(false);
  await expect(status).toHaveText('Available offline');
});
