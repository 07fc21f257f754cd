/** Cancel: stops the running image at its next step; the page stays usable. */
import { expect, test } from '@playwright/test';
import { AppPage, channelStd } from './app-page.js';
import { wasmOnly } from './journeys.js';

test('Cancel stops a running generation and the next one works', async ({ page }) => {
  wasmOnly('cancellation is the page and engine queue, the same on both backends');
  const app = new AppPage(page);
  await app.open();
  await app.waitReady();
  await app.fill({ prompt: 'a long job', width: 512, height: 512, steps: 100, seed: 9 });
  await page.getByRole('button', { name: 'Generate', exact: true }).click();
  await expect(page.locator('#status')).toContainText(/Step [2-9]\/100/);
  await page.getByRole('button', { name: 'Cancel', exact: true }).click();
  await expect(page.locator('#status')).toHaveText('Cancelled.');
  await expect(page.locator('body')).toHaveAttribute('data-state', 'ready');
  expect((await app.lastError())?.code).toBe('CANCELLED');
  await expect(page.locator('#error')).toBeHidden();
  expect(await app.generations()).toBe(0);
  await expect(app.historyItems()).toHaveCount(0);
  await app.screenshot('cancel');

  await app.fill({ width: 256, height: 256, steps: 3, seed: 10 });
  await app.generate();
  expect(channelStd(await app.pixels())).toBeGreaterThan(10);
  await expect(app.historyItems()).toHaveCount(1);
});
