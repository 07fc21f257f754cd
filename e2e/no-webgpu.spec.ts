/**
 * Telling the truth about the machine: without WebGPU (the `wasm` project starts Chromium without
 * it) a notice says generation runs on the CPU and how to turn WebGPU on; the capability panel
 * names the backend either way.
 */
import { expect, test } from '@playwright/test';
import { AppPage } from './app-page.js';

test('the CPU notice and the capability panel match the backend in use', async ({ page }) => {
  const app = new AppPage(page);
  await app.open();
  await app.waitReady();
  const notice = page.locator('#backend-notice');
  const panel = page.locator('#capabilities');
  await panel.locator('summary').click();
  const row = (name: string) => panel.locator('dt').filter({ hasText: new RegExp(`^${name}$`) }).locator('xpath=following-sibling::dd[1]');
  if (test.info().project.name === 'wasm') {
    await expect(notice).toBeVisible();
    await expect(notice).toContainText('computed on the CPU and will be slow');
    await notice.getByText('How to turn WebGPU on').click();
    for (const browser of ['Chrome, Edge', 'Firefox', 'Safari']) await expect(notice).toContainText(browser);
    await expect(row('Backend')).toHaveText('WebAssembly (CPU)');
    await expect(row('GPU buffer limits')).toHaveText('no WebGPU adapter');
  } else {
    await expect(notice).toBeHidden();
    await expect(row('Backend')).toHaveText('WebGPU (GPU)');
    await expect(row('Max buffer')).toContainText(/MiB|GiB/);
    await expect(row('Max storage binding')).toContainText(/MiB|GiB/);
  }
  await expect(row('Cross-origin isolated')).toHaveText('yes');
  await expect(row('WASM threads')).toHaveText(/^\d+$/);
  await expect(row('Storage')).toContainText('available to this site');
  await app.screenshot(`capabilities-${test.info().project.name}`);
});
