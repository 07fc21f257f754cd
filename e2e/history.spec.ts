/**
 * History: images are kept in IndexedDB with their parameters; open, compare, reuse, delete; they
 * survive a reload and a browser restart (a persistent profile closed and opened again).
 */
import { chromium, expect, test } from '@playwright/test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppPage } from './app-page.js';
import { wasmOnly } from './journeys.js';

test('history: open, compare, reuse, delete; survives a reload', async ({ page }) => {
  wasmOnly();
  const app = new AppPage(page);
  await app.open();
  await app.waitReady();
  await app.fill({ prompt: 'first image', negative: 'fog', seed: 11, steps: 2, width: 320, height: 192 });
  await app.generate();
  await app.fill({ prompt: 'second image', negative: '', seed: 22, steps: 3, width: 256, height: 256 });
  await app.generate();
  const items = app.historyItems();
  await expect(items).toHaveCount(2);
  // Newest first, with prompt and parameters.
  await expect(items.nth(0)).toContainText('second image');
  await expect(items.nth(0)).toContainText('256×256 · 3 steps · CFG 4.5 · seed 22');
  await expect(items.nth(1)).toContainText('320×192 · 2 steps · CFG 4.5 · seed 11');

  await page.reload();
  await app.waitReady();
  await expect(items).toHaveCount(2);
  await expect(items.nth(1)).toContainText('first image');

  // Open shows it on the canvas (its own size).
  await items.nth(1).getByRole('button', { name: 'Open' }).click();
  await expect.poll(async () => [(await app.pixels()).width, (await app.pixels()).height]).toEqual([320, 192]);
  await expect(page.getByRole('button', { name: 'Download PNG' })).toBeEnabled();

  // Reuse parameters fills everything but the seed; reuse seed sets the seed.
  await app.fill({ seed: 5 });
  await items.nth(1).getByRole('button', { name: 'Reuse parameters' }).click();
  await expect.poll(() => app.values()).toMatchObject({ prompt: 'first image', negative: 'fog', width: '320', height: '192', steps: '2', seed: '5' });
  await items.nth(1).getByRole('button', { name: 'Reuse seed' }).click();
  await expect(app.field('seed')).toHaveValue('11');

  // Compare two side by side.
  await items.nth(0).getByRole('button', { name: 'Compare' }).click();
  await expect(items.nth(0).getByRole('button', { name: 'Compare' })).toHaveAttribute('aria-pressed', 'true');
  await items.nth(1).getByRole('button', { name: 'Compare' }).click();
  const compare = page.locator('#compare');
  await expect(compare).toBeVisible();
  await expect(compare.locator('img')).toHaveCount(2);
  await expect(compare.locator('figcaption').nth(1)).toContainText('seed 11');
  await app.screenshot('history-compare');
  await compare.getByRole('button', { name: 'Close' }).click();
  await expect(compare).toBeHidden();

  // Delete one, then all (after confirming).
  await items.nth(0).getByRole('button', { name: 'Delete' }).click();
  await expect(items).toHaveCount(1);
  page.once('dialog', (d) => void d.dismiss());
  await page.getByRole('button', { name: 'Delete all' }).click();
  await expect(items).toHaveCount(1);
  page.once('dialog', (d) => void d.accept());
  await page.getByRole('button', { name: 'Delete all' }).click();
  await expect(items).toHaveCount(0);
  await page.reload();
  await app.waitReady();
  await expect(items).toHaveCount(0);
});

test('history survives closing and reopening the browser', async ({ launchOptions, baseURL }) => {
  wasmOnly();
  const profile = mkdtempSync(join(tmpdir(), 'webdiffusion-profile-'));
  try {
    const open = () => chromium.launchPersistentContext(profile, { ...launchOptions, baseURL, viewport: { width: 1100, height: 800 } });
    let context = await open();
    let app = new AppPage(context.pages()[0] ?? (await context.newPage()));
    await app.open();
    await app.waitReady();
    await app.fill({ prompt: 'kept across restarts', seed: 321, steps: 2 });
    await app.generate();
    await expect(app.historyItems()).toHaveCount(1);
    await context.close();

    context = await open();
    app = new AppPage(context.pages()[0] ?? (await context.newPage()));
    await app.open();
    await app.waitReady();
    await expect(app.historyItems()).toHaveCount(1);
    await expect(app.historyItems().first()).toContainText('kept across restarts');
    await expect(app.historyItems().first()).toContainText('seed 321');
    await app.screenshot('history-after-restart');
    await context.close();
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
});
