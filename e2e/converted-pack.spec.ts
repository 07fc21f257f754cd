/**
 * The demo pack made by our converter (public/models/tiny-sd3-q4, `npm run fixtures`) generates in the
 * app: q4 weights (MatMulNBits) on WebGPU (SwiftShader has no shader-f16, so q4f16 is passed over) and
 * on the WebAssembly fallback.
 */
import { expect, test } from '@playwright/test';
import { AppPage, channelStd } from './app-page.js';

test('the converted 4-bit demo pack generates an image', async ({ page }) => {
  // MatMulNBits kernels compile slowly on SwiftShader (a CPU Vulkan): about 25 s for the prompt encoders.
  test.setTimeout(300_000);
  const missing: string[] = [];
  page.on('response', (r) => {
    if (r.status() === 404 && r.url().includes('/models/')) missing.push(r.url());
  });
  const app = new AppPage(page);
  await app.open('?model=tiny-sd3-q4');
  await app.waitReady();
  await expect(page.getByLabel('Model', { exact: true })).toHaveValue('tiny-sd3-q4');
  const backend = await app.backendText();
  const webgpu = test.info().project.name === 'webgpu';
  expect(backend).toContain(webgpu ? 'WebGPU' : 'WebAssembly');
  expect(backend).toContain('shader-f16: no');
  expect(backend).toContain('weights: q4');
  expect(backend).not.toContain('weights: q4f16');
  await app.fill({ prompt: 'a lighthouse on a cliff, 4-bit', seed: 5, steps: 2, width: 64, height: 64 });
  await page.getByRole('button', { name: 'Generate' }).click();
  await expect(page.locator('body')).toHaveAttribute('data-state', 'generating');
  await expect(page.locator('body')).toHaveAttribute('data-state', 'ready', { timeout: 240_000 });
  await expect(page.locator('#status')).toContainText('seed 5');
  expect(await app.generations()).toBe(1);
  expect(missing).toEqual([]);
  const px = await app.pixels();
  expect([px.width, px.height]).toEqual([64, 64]);
  expect(channelStd(px)).toBeGreaterThan(10);
  const result = await app.lastResult();
  expect(result.backend).toBe(webgpu ? 'webgpu' : 'wasm');
  await app.screenshot(`converted-pack-${test.info().project.name}`);
});
