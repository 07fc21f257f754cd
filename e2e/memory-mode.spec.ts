/**
 * Memory modes in the built app: automatic picks fast for the demo model and says why; low memory
 * (one component at a time) makes the same image as fast mode; the choice survives a reload.
 */
import { expect, test } from '@playwright/test';
import { AppPage, maxAbsDiff } from './app-page.js';

test('low-memory mode makes the same image as fast mode, and the choice is kept', async ({ page }) => {
  test.skip(test.info().project.name !== 'wasm', 'the same code path on both backends; SwiftShader is slow');
  const app = new AppPage(page);
  await app.open();
  await app.waitReady();
  const note = page.locator('#memory-note');
  await expect(note).toContainText('Fast (every part stays loaded): all weights');
  const request = { prompt: 'a lighthouse on a cliff', negative: 'fog', steps: 4, seed: 99 };
  await app.fill(request);
  await app.generate();
  const fast = await app.pixels();

  await page.getByLabel('Memory').selectOption('low-memory');
  await expect(note).toContainText('Low memory (one part loaded at a time): chosen in the settings');
  await app.waitReady();
  await app.generate();
  const low = await app.pixels();
  expect(maxAbsDiff(low.data, fast.data)).toBe(0);
  expect((await app.lastResult()).backend).toBe('wasm');
  // A second image in low memory (prompt embeddings reused, every part loaded again) is still the same.
  await app.generate();
  expect((await app.pixels()).sha256).toBe(fast.sha256);

  await page.getByRole('group', { name: /This device/ }).or(page.locator('#capabilities summary')).first().click();
  await expect(page.locator('#capabilities')).toContainText('Memory mode');

  await page.reload();
  await app.waitReady();
  await expect(page.getByLabel('Memory')).toHaveValue('low-memory');
  await expect(note).toContainText('Low memory');
});
