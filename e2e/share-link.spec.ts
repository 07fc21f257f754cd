/** Share links: Copy link gives a URL that fills the form when opened, and starts nothing. */
import { expect, test } from '@playwright/test';
import { AppPage } from './app-page.js';
import { wasmOnly } from './journeys.js';

test('a share link restores the parameters without generating or downloading', async ({ page, context }) => {
  wasmOnly();
  const app = new AppPage(page);
  await app.open();
  await app.waitReady();
  const values = { prompt: 'a fox & a hare, 50% #1?', negative: 'blurry\nlowres', width: '320', height: '192', steps: '12', guidance: '3.5', seed: '42' };
  await app.fill(values);
  await page.getByRole('button', { name: 'Copy link' }).click();
  const link = await page.getByLabel('Link to these settings').inputValue();
  expect(new URL(link).hash).toContain('prompt=');
  expect(new URL(link).search).toBe('');

  const other = await context.newPage();
  let downloads = 0;
  other.on('download', () => downloads++);
  await other.goto(link);
  const opened = new AppPage(other);
  await opened.waitReady();
  expect(await opened.values()).toMatchObject(values);
  await expect(other.locator('#notice')).toContainText('Nothing runs until you press Generate');
  // Give a stray auto-start every chance to happen, then check none did.
  await other.waitForTimeout(1000);
  const hook = await opened.hook();
  expect(hook.requests).toBe(0);
  expect(hook.generations).toBe(0);
  expect(downloads).toBe(0);
  await expect(other.locator('body')).toHaveAttribute('data-state', 'ready');
  await opened.screenshot('share-link-opened');

  // A link with a random seed empties the seed; unusable values are named.
  await other.goto(`${link.split('#')[0]}#prompt=cat&size=big&steps=4`);
  await other.reload();
  await opened.waitReady();
  await expect(opened.field('prompt')).toHaveValue('cat');
  await expect(opened.field('seed')).toHaveValue('');
  await expect(opened.field('steps')).toHaveValue('4');
  await expect(other.locator('#notice')).toContainText('Not understood: size=big');
});
