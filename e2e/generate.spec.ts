/**
 * Text to image in the built app, driven like a person would, on WebGPU (SwiftShader) and on the
 * WebAssembly fallback (Chromium launched without WebGPU).
 */
import { expect, test } from '@playwright/test';
import { createNodeEngine } from '../src/engine/node-engine.js';
import { AppPage, channelStd, maxAbsDiff } from './app-page.js';

const onProject = (name: 'webgpu' | 'wasm') => test.info().project.name === name;

test.beforeEach(async ({ page }) => {
  // Record every status text so the step counter can be checked after a fast run.
  await page.addInitScript(() => {
    const log: string[] = [];
    (window as unknown as { __statusLog: string[] }).__statusLog = log;
    document.addEventListener('DOMContentLoaded', () => {
      const el = document.getElementById('status')!;
      new MutationObserver(() => log.push(el.textContent ?? '')).observe(el, { childList: true, characterData: true, subtree: true });
    });
  });
});

test('generates a 256×256 image with a visible step counter on the expected backend', async ({ page }) => {
  const app = new AppPage(page);
  await app.open();
  await app.waitReady();
  await expect(page.getByLabel('Model', { exact: true })).toContainText('test model: random weights, abstract output');
  await expect(page.locator('#model option', { hasText: 'SD 3.5 Medium' }).first()).toBeDisabled();
  const backend = await app.backendText();
  if (onProject('webgpu')) {
    expect(backend).toContain('WebGPU');
    expect(backend).toContain('shader-f16: no');
    await expect(page.locator('#backend-notice')).toBeHidden();
  } else {
    expect(backend).toContain('WebAssembly');
    await expect(page.locator('#backend-notice')).toContainText('computed on the CPU');
  }
  await app.fill({ prompt: 'a watercolor painting of a lighthouse at sunset', seed: 1234, steps: 8 });
  await app.generate();
  const statuses = await page.evaluate(() => (window as unknown as { __statusLog: string[] }).__statusLog);
  for (let i = 1; i <= 8; i++) expect(statuses.some((s) => s.startsWith(`Step ${i}/8`))).toBe(true);
  await expect(page.locator('#status')).toContainText('seed 1234');
  // The CPU warning stays after a generation.
  if (onProject('wasm')) await expect(page.locator('#backend-notice')).toBeVisible();
  const px = await app.pixels();
  expect([px.width, px.height]).toEqual([256, 256]);
  expect(channelStd(px)).toBeGreaterThan(10);
  const result = await app.lastResult();
  expect(result.backend).toBe(onProject('webgpu') ? 'webgpu' : 'wasm');
  await app.screenshot(`generate-${test.info().project.name}`);
});

test('same seed gives identical pixels, another seed a different image', async ({ page }) => {
  const app = new AppPage(page);
  await app.open();
  await app.waitReady();
  await app.fill({ prompt: 'a red fox in the snow', seed: 77, steps: 4 });
  await app.generate();
  const first = await app.pixels();
  await app.generate();
  const second = await app.pixels();
  expect(second.sha256).toBe(first.sha256);
  await app.fill({ seed: 78 });
  await app.generate();
  const third = await app.pixels();
  expect(third.sha256).not.toBe(first.sha256);
  expect(maxAbsDiff(third.data, first.data)).toBeGreaterThan(32);
});

test('the browser WebAssembly image matches native onnxruntime-node (max pixel difference ≤ 1)', async ({ page }) => {
  test.skip(!onProject('wasm'), 'compares the WASM path; the WebGPU project compares WebGPU with WASM');
  const request = { prompt: 'a photo of a cat', negativePrompt: 'blurry', width: 256, height: 192, steps: 6, guidance: 4.5, seed: 2024 };
  const engine = createNodeEngine();
  await engine.load({ modelId: 'tiny-sd3', baseUrl: 'public/models/tiny-sd3' });
  const native = await engine.generate({ jobId: 'native', ...request });
  await engine.unload();

  const app = new AppPage(page);
  await app.open();
  await app.waitReady();
  await app.fill({ prompt: request.prompt, negative: request.negativePrompt, width: request.width, height: request.height, steps: request.steps, guidance: request.guidance, seed: request.seed });
  await app.generate();
  const browser = await app.pixels();
  const diff = maxAbsDiff(browser.data, Uint8Array.from(native.image.rgba));
  test.info().annotations.push({ type: 'max pixel difference (browser WASM vs native)', description: String(diff) });
  expect(diff).toBeLessThanOrEqual(1);
});

test('WebGPU and WebAssembly give the same image within tolerance', async ({ page }) => {
  test.skip(!onProject('webgpu'), 'needs a WebGPU adapter');
  const app = new AppPage(page);
  await app.open();
  await app.waitReady();
  await app.fill({ prompt: 'a castle on a hill', seed: 5, steps: 4 });
  await app.generate();
  const gpu = await app.pixels();
  expect((await app.lastResult()).backend).toBe('webgpu');
  await app.chooseBackend('WebAssembly (CPU)');
  expect(await app.backendText()).toContain('WebAssembly');
  await app.fill({ prompt: 'a castle on a hill', seed: 5, steps: 4 });
  await app.generate();
  const cpu = await app.pixels();
  expect((await app.lastResult()).backend).toBe('wasm');
  const diff = maxAbsDiff(gpu.data, cpu.data);
  test.info().annotations.push({ type: 'max pixel difference (WebGPU vs WASM)', description: String(diff) });
  // Both run fp32; only the order of float operations differs between the kernels.
  expect(diff).toBeLessThanOrEqual(3);
});

// Cancel and bad inputs have their own journeys: e2e/cancel.spec.ts, e2e/bad-inputs.spec.ts.

test('an over-long prompt is truncated and the dropped words are named', async ({ page }) => {
  test.skip(!onProject('wasm'), 'tokenization is backend-independent; run once');
  const app = new AppPage(page);
  await app.open();
  await app.waitReady();
  const words = Array.from({ length: 90 }, (_, i) => (i === 85 ? 'zebra' : 'cat')).join(' ');
  await app.fill({ prompt: words, steps: 1, seed: 1 });
  // The live counter warns before anything runs, naming the words CLIP will drop.
  await expect(page.locator('#prompt-tokens')).toContainText(/CLIP 9\d\/77 · T5 9\d\/256/);
  await expect(page.locator('#prompt-tokens')).toContainText(/CLIP drops “[^”]*zebra/);
  await expect(page.locator('#prompt-tokens')).toHaveClass(/over/);
  await app.generate();
  await expect(page.locator('#notice')).toContainText('words were dropped');
  await expect(page.locator('#notice')).toContainText('zebra');
});
