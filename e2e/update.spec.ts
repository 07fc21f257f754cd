/**
 * A new deployment replaces the old one without a mixed state. Two builds of the app that differ only
 * in their version are served in turn from the same origin: the open tab offers "A new version is
 * ready — Reload", keeps running the old build (even across a plain reload) until the person accepts,
 * and after accepting loads only the new build's files. A second open tab is told too.
 */
import { expect, test, type Page } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { AppPage } from './app-page.js';
import { wasmOnly } from './journeys.js';
import { startStaticHost, type StaticHost } from './static-host.js';

const BUILDS = 'test-results/update-builds';
const A = { dir: `${BUILDS}/a`, version: '0.0.0-update-a' };
const B = { dir: `${BUILDS}/b`, version: '0.0.0-update-b' };
let host: StaticHost;

test.beforeAll(async ({}, info) => {
  test.skip(info.project.name !== 'wasm', 'updates do not depend on the backend: runs once, in the wasm project');
  test.setTimeout(300_000);
  for (const { dir, version } of [A, B]) {
    execFileSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--outDir', dir, '--emptyOutDir', '--logLevel', 'error'], {
      env: { ...process.env, WEBDIFFUSION_VERSION: version },
      stdio: 'inherit',
    });
  }
  host = await startStaticHost(A.dir, { isolation: true });
});
test.afterAll(async () => {
  await host?.close();
});

const assets = (dir: string) => new Set(readdirSync(`${dir}/assets`));
const version = (page: Page) => page.locator('#app-version');
const prompt = (page: Page) => page.locator('#update-prompt');

async function openApp(page: Page): Promise<AppPage> {
  const app = new AppPage(page);
  await page.goto(`${host.url}?model=tiny-sd3`);
  await app.waitReady();
  await expect(page.locator('#offline-status')).toHaveText('Available offline');
  return app;
}

async function expectVersion(page: Page, v: string): Promise<void> {
  await expect(version(page)).toHaveText(v);
  await expect(version(page)).toHaveAttribute('data-service-worker', v);
}

test('a new deployment is offered; reloading gives the new version and never a mix of both', async ({ page, context }) => {
  wasmOnly();
  const onlyInA = [...assets(A.dir)].filter((f) => !assets(B.dir).has(f));
  expect(onlyInA.length).toBeGreaterThan(0); // the builds really differ

  const app = await openApp(page);
  await expectVersion(page, A.version);
  const other = await context.newPage();
  const otherApp = await openApp(other);
  await expect(prompt(page)).toBeHidden();

  await host.deploy(B.dir);
  // The person comes back to the tab: the page asks whether there is a new version.
  await page.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));
  await expect(prompt(page)).toContainText('A new version is ready — Reload');

  // Until accepted, the tab runs the old build: it generates, and a plain reload is still the old build.
  await app.fill({ steps: 2, seed: 3 });
  await app.generate();
  await page.reload();
  await app.waitReady();
  await expectVersion(page, A.version);
  await expect(prompt(page)).toBeVisible(); // offered again

  const loaded: string[] = [];
  page.on('request', (r) => loaded.push(new URL(r.url()).pathname));
  await prompt(page).getByRole('button', { name: 'Reload' }).click();
  await expectVersion(page, B.version);
  await app.waitReady();
  await expect(prompt(page)).toBeHidden();
  await app.fill({ steps: 2, seed: 3 });
  await app.generate();
  await app.screenshot('update-new-version');

  // Every asset the new page and its workers loaded belongs to build B; none is A's alone.
  const loadedAssets = loaded.filter((p) => p.startsWith('/assets/')).map((p) => p.slice('/assets/'.length));
  expect(loadedAssets.some((f) => f.startsWith('generator.worker'))).toBe(true);
  expect(loadedAssets.filter((f) => !assets(B.dir).has(f))).toEqual([]);
  expect(loadedAssets.filter((f) => onlyInA.includes(f))).toEqual([]);

  // The other tab still runs A in memory and is told; its reload gives B.
  await expect(prompt(other)).toContainText('A new version is ready — Reload');
  await expect(version(other)).toHaveText(A.version);
  await prompt(other).getByRole('button', { name: 'Reload' }).click();
  await expectVersion(other, B.version);
  await otherApp.waitReady();
});
