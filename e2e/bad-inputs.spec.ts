/** Bad inputs: each shows its error inline (code, what happened, what to do); the page stays usable. */
import { expect, test } from '@playwright/test';
import { AppPage } from './app-page.js';
import { wasmOnly } from './journeys.js';

test('each bad input shows its own error, and a good request still works after them', async ({ page }) => {
  wasmOnly('validation messages are the same on both backends');
  const app = new AppPage(page);
  await app.open();
  await app.waitReady();
  const error = page.locator('#error');
  const generate = page.getByRole('button', { name: 'Generate', exact: true });

  // A width off the grid, sent straight from the field with Ctrl+Enter: the worker refuses it.
  await app.fill({ steps: 2, seed: 3 });
  await app.field('width').fill('250');
  await app.field('width').press('Control+Enter');
  await expect(error).toContainText('INVALID_SIZE');
  await expect(error).toContainText('multiple of 16');
  await expect(error.locator('.hint')).toContainText('Try 240');
  await app.screenshot('bad-inputs-size');
  // Leaving the field snaps it, and says so.
  await app.field('height').focus();
  await expect(app.field('width')).toHaveValue('256');
  await expect(page.locator('#size-note')).toContainText('Width 250 → 256');

  const cases: [Parameters<AppPage['fill']>[0], string, string][] = [
    [{ steps: 0 }, 'INVALID_STEPS', 'from 1 to 100'],
    [{ steps: 101 }, 'INVALID_STEPS', 'got 101'],
    [{ steps: 2, guidance: 25 }, 'INVALID_GUIDANCE', 'from 0 to 20'],
    [{ guidance: 4.5, seed: 'abc' }, 'INVALID_SEED', 'Leave the seed empty'],
    [{ seed: 99999999999 }, 'INVALID_SEED', '4294967295'],
    [{ seed: 3, count: 9 }, 'INVALID_REQUEST', 'from 1 to 8'],
    [{ count: 0 }, 'INVALID_REQUEST', 'from 1 to 8'],
  ];
  for (const [fields, code, text] of cases) {
    await app.fill(fields);
    await generate.click();
    await expect(error).toContainText(code);
    await expect(error).toContainText(text);
    await expect(page.locator('body')).toHaveAttribute('data-state', 'ready');
    await expect(generate).toBeEnabled();
  }
  await app.screenshot('bad-inputs-count');

  // Three images with bad steps: the first fails, the other two are not tried.
  await app.fill({ count: 3, steps: 500 });
  await generate.click();
  await expect(error).toContainText('INVALID_STEPS');
  await app.waitIdle();
  await expect(page.getByRole('list', { name: 'Queue' })).toBeHidden();
  expect((await app.hook()).requests).toBe(1 + 3 + 1);

  await app.fill({ count: 1, steps: 2, seed: 3 });
  await app.generate();
  await expect(error).toBeHidden();
});
