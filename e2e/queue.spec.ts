/** Several images: queued visibly, one after another, each with its own seed. */
import { expect, test } from '@playwright/test';
import { AppPage } from './app-page.js';
import { wasmOnly } from './journeys.js';

test('three images with a fixed seed get s, s+1, s+2; with a random seed three fresh ones', async ({ page }) => {
  wasmOnly();
  const app = new AppPage(page);
  await app.open();
  await app.waitReady();
  await app.fill({ prompt: 'a row of houses', seed: 500, steps: 2, count: 3 });
  await page.getByRole('button', { name: 'Generate', exact: true }).click();
  // The queue shows the running image and the two waiting ones.
  const queue = page.getByRole('list', { name: 'Queue' });
  await expect(queue).toBeVisible();
  await expect(queue.locator('li')).toHaveCount(3);
  await expect(queue.locator('li').first()).toContainText('1/3 · seed 500');
  await app.screenshot('queue-running');
  await app.waitIdle();
  await expect(queue).toBeHidden();
  let hook = await app.hook();
  expect(hook.seeds).toEqual([500, 501, 502]);
  await expect(app.historyItems()).toHaveCount(3);

  await app.fill({ seed: '' });
  await page.getByRole('button', { name: 'Generate', exact: true }).click();
  await expect(queue.locator('li').first()).toContainText('random seed');
  await app.waitIdle();
  hook = await app.hook();
  const random = hook.seeds.slice(3);
  expect(random).toHaveLength(3);
  expect(new Set(random).size).toBe(3);
  await expect(app.historyItems()).toHaveCount(6);
});

test('a request made while one runs waits in the queue and can be removed', async ({ page }) => {
  wasmOnly();
  const app = new AppPage(page);
  await app.open();
  await app.waitReady();
  await app.fill({ prompt: 'slow one', seed: 1, steps: 30, count: 1 });
  const generate = page.getByRole('button', { name: 'Generate', exact: true });
  await generate.click();
  await expect(page.locator('#status')).toContainText(/Step \d+\/30/);
  await app.fill({ seed: 77, steps: 2 });
  await generate.click();
  await app.fill({ seed: 88 });
  await generate.click();
  const queue = page.getByRole('list', { name: 'Queue' });
  await expect(queue.locator('li')).toHaveCount(3);
  await page.getByRole('button', { name: /Remove queued image 1 of 1 \(seed 77\)/ }).click();
  await expect(queue.locator('li')).toHaveCount(2);
  await app.waitIdle();
  expect((await app.hook()).seeds).toEqual([1, 88]);
});
