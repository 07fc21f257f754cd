/** Keyboard only: reach the prompt, type, generate with the button and with Ctrl+Enter. */
import { expect, test } from '@playwright/test';
import { AppPage } from './app-page.js';
import { wasmOnly } from './journeys.js';

test('generating with the keyboard alone, with a visible focus ring', async ({ page }) => {
  wasmOnly();
  const app = new AppPage(page);
  await app.open();
  await app.waitReady();
  const active = () => page.evaluate(() => document.activeElement?.id || document.activeElement?.className || '');

  // The first Tab reaches the skip link; Enter on it lands in the prompt.
  await page.keyboard.press('Tab');
  expect(await active()).toBe('skip');
  await page.keyboard.press('Enter');
  expect(await active()).toBe('prompt');
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.type('a paper boat on a pond');

  // Tab to the seed field, type a seed, then on to Generate.
  for (let i = 0; i < 20 && (await active()) !== 'seed'; i++) await page.keyboard.press('Tab');
  expect(await active()).toBe('seed');
  await page.keyboard.type('606');
  for (let i = 0; i < 20 && (await active()) !== 'generate'; i++) await page.keyboard.press('Tab');
  expect(await active()).toBe('generate');
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
  expect(outline).toBe('solid');
  await app.screenshot('keyboard-focus-generate');
  await page.keyboard.press('Enter');
  await expect(page.locator('body')).toHaveAttribute('data-state', 'generating');
  await app.waitIdle();
  expect((await app.hook()).seeds).toEqual([606]);

  // Ctrl+Enter from the prompt queues another.
  await page.locator('#prompt').focus();
  await page.keyboard.press('Control+Enter');
  await expect.poll(async () => (await app.hook()).generations).toBe(2);
  await app.waitIdle();
  await expect(app.historyItems()).toHaveCount(2);
});
