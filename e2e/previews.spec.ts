/** Live previews: the canvas changes at every denoising step, then shows the final image. */
import { expect, test } from '@playwright/test';
import { AppPage, channelStd } from './app-page.js';
import { RECORD_PREVIEWS, wasmOnly } from './journeys.js';

test('generate with previews: a new picture at each step, then the final image', async ({ page }) => {
  wasmOnly();
  await page.addInitScript(RECORD_PREVIEWS);
  const app = new AppPage(page);
  await app.open();
  await app.waitReady();
  await expect(page.getByLabel('Show previews')).toBeChecked();
  await app.fill({ prompt: 'a castle in the clouds', seed: 99, steps: 6 });
  await app.generate();
  const prints = await page.evaluate(() => (window as unknown as { __previewPrints: { step: number; print: string; box: string }[] }).__previewPrints);
  expect(prints.map((p) => p.step)).toEqual([1, 2, 3, 4, 5, 6]);
  // Each step drew a different picture on the full-size canvas.
  expect(new Set(prints.map((p) => p.print)).size).toBe(6);
  expect(prints.every((p) => p.print.startsWith('256x256:'))).toBe(true);
  // No layout jump while progress updates: the image box stays where it is, the same size.
  expect(new Set(prints.map((p) => p.box)).size).toBe(1);
  // The final image replaced the last preview.
  const final = await app.pixels();
  expect(channelStd(final)).toBeGreaterThan(10);
  const lastPrint = await page.evaluate(() => {
    const c = document.getElementById('canvas') as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let h = 0;
    for (let i = 0; i < d.length; i += 97) h = (h * 31 + d[i]!) | 0;
    return `${c.width}x${c.height}:${h}`;
  });
  expect(lastPrint).not.toBe(prints.at(-1)!.print);
  expect((await app.hook()).previews).toBe(6);
  await app.screenshot('previews-final');

  // Previews off: the request asks for none and the canvas is only drawn once, at the end.
  await page.getByLabel('Show previews').uncheck();
  await app.generate();
  expect((await app.hook()).previews).toBe(6);
});
