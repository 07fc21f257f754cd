/** The page on a desktop and on a phone, after one image: screenshots to look at. */
import { expect, test } from '@playwright/test';
import { AppPage } from './app-page.js';
import { wasmOnly } from './journeys.js';

for (const [name, viewport, colorScheme] of [
  ['desktop', { width: 1280, height: 800 }, 'light'],
  ['phone', { width: 390, height: 844 }, 'light'],
  ['desktop-dark', { width: 1280, height: 800 }, 'dark'],
] as const) {
  test(`${name} layout (${viewport.width}×${viewport.height}, ${colorScheme})`, async ({ page }) => {
    wasmOnly();
    await page.setViewportSize(viewport);
    await page.emulateMedia({ colorScheme });
    const app = new AppPage(page);
    await app.open();
    await app.waitReady();
    await app.fill({ prompt: 'a watercolor painting of a lighthouse at sunset', negative: 'blurry', seed: 1234, steps: 4 });
    await app.generate();
    await expect(app.historyItems()).not.toHaveCount(0);
    await page.locator('#capabilities summary').click();
    // Nothing wider than the screen.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await app.screenshot(`layout-${name}`);
  });
}
