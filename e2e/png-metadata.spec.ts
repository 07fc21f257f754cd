/**
 * PNG metadata: the downloaded PNG carries an A1111 "parameters" tEXt chunk; dropping it (or a PNG
 * written by A1111) on the page restores the settings, and says what it ignored.
 */
import { expect, test } from '@playwright/test';
import { readFileSync } from 'node:fs';
import * as pngText from 'png-chunk-text';
import encodeChunks from 'png-chunks-encode';
import extractChunks from 'png-chunks-extract';
import { AppPage } from './app-page.js';
import { wasmOnly } from './journeys.js';

test('download a PNG with parameters, drop it back: the same parameters return', async ({ page }) => {
  wasmOnly();
  const app = new AppPage(page);
  await app.open();
  await app.waitReady();
  await app.fill({ prompt: 'a lighthouse, at dusk: oil on canvas', negative: 'blurry, lowres', width: 320, height: 256, steps: 3, guidance: 5.5, seed: 4242 });
  await app.generate();
  const downloading = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download PNG' }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toMatch(/^webdiffusion-4242-.*\.png$/);
  const bytes = new Uint8Array(readFileSync((await download.path())!));
  const chunks = extractChunks(bytes);
  expect(chunks.map((c) => c.name).slice(0, 2)).toEqual(['IHDR', 'tEXt']);
  const text = pngText.decode(chunks[1]!.data);
  expect(text.keyword).toBe('parameters');
  expect(text.text).toBe(
    'a lighthouse, at dusk: oil on canvas\nNegative prompt: blurry, lowres\n' +
      'Steps: 3, Sampler: Euler, Schedule type: Simple, CFG scale: 5.5, Seed: 4242, Size: 320x256, Model: tiny-sd3, Version: webdiffusion 0.1.0',
  );

  // Change everything, then drop the file: the form comes back; nothing is generated.
  await app.fill({ prompt: 'something else', negative: '', width: 256, height: 256, steps: 8, guidance: 1, seed: '' });
  const requests = (await app.hook()).requests;
  await app.dropFile(bytes, 'webdiffusion.png');
  await expect(page.locator('#notice')).toContainText('Restored from webdiffusion.png: prompt, negative prompt, steps, guidance, seed, size, model.');
  expect(await app.values()).toMatchObject({ prompt: 'a lighthouse, at dusk: oil on canvas', negative: 'blurry, lowres', width: '320', height: '256', steps: '3', guidance: '5.5', seed: '4242' });
  expect((await app.hook()).requests).toBe(requests);
  await app.screenshot('png-dropped');
});

test('an AUTOMATIC1111 PNG restores what it can and names what it ignored', async ({ page }) => {
  wasmOnly();
  const app = new AppPage(page);
  await app.open();
  await app.waitReady();
  const infotext = [
    'masterpiece, a red fox in the snow, (detailed fur:1.2)',
    'Negative prompt: lowres, bad anatomy,',
    'watermark, text',
    'Steps: 20, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 965400086, Size: 512x510, Model hash: 45dee52b, Model: sd_xl_base_1.0, Denoising strength: 0.7, Hires upscale: 2, Hires upscaler: Latent, Version: v1.10.1',
  ].join('\n');
  // A 1×1 PNG with A1111's chunk, made with the PNG chunk libraries.
  const png = encodeChunks([
    { name: 'IHDR', data: Uint8Array.from([0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]) },
    pngText.encode('parameters', infotext),
    { name: 'IDAT', data: Uint8Array.from([0x78, 0x9c, 0x63, 0x68, 0x00, 0x00, 0x00, 0x82, 0x00, 0x81]) },
    { name: 'IEND', data: new Uint8Array(0) },
  ]);
  await app.dropFile(png, '00042-965400086.png');
  const notice = page.locator('#notice');
  await expect(notice).toContainText('Restored from 00042-965400086.png: prompt, negative prompt, steps, guidance, seed, size.');
  await expect(notice).toContainText('Sampler: DPM++ 2M (this app always samples with Euler)');
  await expect(notice).toContainText('Hires upscale: 2');
  await expect(notice).toContainText('Model: sd_xl_base_1.0 (no such model here)');
  // 510 is not a multiple of 16: snapped, and said so.
  await expect(notice).toContainText('Size 512×510 → 512×512');
  expect(await app.values()).toMatchObject({
    prompt: 'masterpiece, a red fox in the snow, (detailed fur:1.2)',
    negative: 'lowres, bad anatomy,\nwatermark, text',
    steps: '20',
    guidance: '7',
    seed: '965400086',
    width: '512',
    height: '512',
  });
  expect((await app.hook()).requests).toBe(0);
  await app.screenshot('png-a1111-dropped');

  // A PNG without parameters, and a file that is no PNG, each say so.
  await app.dropFile(encodeChunks([{ name: 'IHDR', data: Uint8Array.from([0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]) }, { name: 'IEND', data: new Uint8Array(0) }]), 'plain.png');
  await expect(page.locator('#error')).toContainText('“plain.png” has no generation parameters');
  await app.dropFile(new TextEncoder().encode('GIF89a'), 'cat.gif', 'image/gif');
  await expect(page.locator('#error')).toContainText('INVALID_REQUEST');
  await expect(page.locator('#error')).toContainText('could not be read as a PNG');
});
