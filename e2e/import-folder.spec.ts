/**
 * Import from a local folder, as a person does it: open the Storage panel, pick a folder, press
 * Import. A pack folder (the demo's 4-bit pack) is checked against its pack.json and installed
 * with no network request for it; an Olive-flavoured ONNX export (written by the fixture script) is
 * converted on import. Both then load from the store and generate.
 */
import { expect, test, type Page } from '@playwright/test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_FIXTURE } from '../src/fixtures/fixture-config.js';
import { writeOliveFixture } from '../src/fixtures/write-olive-fixture.js';
import { AppPage } from './app-page.js';
import { wasmOnly } from './journeys.js';

async function openStoragePanel(page: Page): Promise<void> {
  const details = page.locator('#storage-details');
  if ((await details.getAttribute('open')) === null) await details.locator('summary').click();
}

test.beforeEach(() => wasmOnly('the import path does not depend on the compute backend; the wasm project runs it'));

test('a pack folder is verified and installed from disk, then loads with no request for it and generates', async ({ page }) => {
  const requested: string[] = [];
  page.context().on('request', (r) => requested.push(r.url()));
  const app = new AppPage(page);
  await app.open();
  await app.waitReady();
  await openStoragePanel(page);
  await page.getByLabel('Model folder').setInputFiles('public/models/tiny-sd3-q4');
  await expect(page.locator('.storage-import-status')).toContainText('tiny-sd3-q4: a model pack');
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  const item = page.locator('[data-model-id="tiny-sd3-q4"]');
  await expect(item).toHaveAttribute('data-state', 'installed');
  await expect(page.locator('.storage-import-status')).toContainText('Imported tiny-sd3-q4');
  await app.screenshot('import-folder-pack');

  await page.getByLabel('Model', { exact: true }).selectOption('tiny-sd3-q4');
  await app.waitReady();
  expect(await app.backendText()).toContain('weights: q4');
  await app.fill({ width: 64, height: 64, steps: 2, seed: 4 });
  await app.generate();
  expect(requested.filter((u) => u.includes('/models/tiny-sd3-q4/'))).toEqual([]);
});

test('an ONNX export folder is converted to 4 bits on import, then generates', async ({ page }) => {
  test.setTimeout(240_000);
  const dir = mkdtempSync(join(tmpdir(), 'wd-olive-export-'));
  try {
    const exportDir = join(dir, 'sd35-olive-export');
    await writeOliveFixture(exportDir, DEFAULT_FIXTURE);
    const app = new AppPage(page);
    await app.open();
    await app.waitReady();
    await openStoragePanel(page);
    await page.getByLabel('Model folder').setInputFiles(exportDir);
    await expect(page.locator('.storage-import-status')).toContainText('sd35-olive-export: an ONNX export');
    await page.getByLabel('Install an export as').selectOption({ label: 'SD 3.5 Medium' });
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    // A Stability model: its licence comes first, as for a download.
    await page.getByRole('dialog', { name: /licence/ }).getByRole('button', { name: 'Accept and download' }).click();
    const item = page.locator('[data-model-id="sd35-medium"]');
    await expect(item).toHaveAttribute('data-state', 'installed', { timeout: 120_000 });
    await expect(page.locator('.storage-import-status')).toContainText('Imported sd35-olive-export as SD 3.5 Medium');

    await page.getByLabel('Model', { exact: true }).selectOption('sd35-medium');
    await app.waitReady();
    expect(await app.backendText()).toContain('q4');
    await app.fill({ width: 512, height: 512, steps: 2, seed: 3 });
    await app.generate();
    await app.screenshot('import-folder-export');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a folder that is neither a pack nor an export is refused with a clear message', async ({ page }) => {
  const dir = mkdtempSync(join(tmpdir(), 'wd-not-a-model-'));
  try {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, 'notes.txt'), 'hello');
    const app = new AppPage(page);
    await app.open();
    await openStoragePanel(page);
    await page.getByLabel('Model folder').setInputFiles(dir);
    await expect(page.locator('.storage-import-status')).toContainText('holds neither pack.json');
    await expect(page.getByRole('button', { name: 'Import', exact: true })).toBeDisabled();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
