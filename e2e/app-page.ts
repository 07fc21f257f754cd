/**
 * The app as a person uses it (page object): type a prompt, set fields, click Generate, wait,
 * read the canvas back.
 */
import { expect, type Page } from '@playwright/test';
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';

export interface Pixels {
  width: number;
  height: number;
  data: Uint8Array;
  sha256: string;
}

export const SHOTS = 'e2e-artifacts';

export class AppPage {
  constructor(readonly page: Page) {}

  async open(query = ''): Promise<void> {
    await this.page.goto(`./${query}`);
    await expect(this.page.getByRole('heading', { name: 'webdiffusion' })).toBeVisible();
  }

  async waitReady(): Promise<void> {
    await expect(this.page.locator('body')).toHaveAttribute('data-state', /ready|error/);
    const state = await this.page.locator('body').getAttribute('data-state');
    if (state === 'error') throw new Error(`model failed to load: ${await this.page.locator('#error').textContent()}`);
    await expect(this.page.getByRole('button', { name: 'Generate' })).toBeEnabled();
  }

  async backendText(): Promise<string> {
    return (await this.page.locator('#backend-info').textContent()) ?? '';
  }

  async fill(fields: Partial<Record<'prompt' | 'negative' | 'width' | 'height' | 'steps' | 'guidance' | 'seed', string | number>>): Promise<void> {
    const labels = { prompt: 'Prompt', negative: 'Negative prompt', width: 'Width', height: 'Height', steps: 'Steps', guidance: 'Guidance', seed: 'Seed' } as const;
    for (const [k, v] of Object.entries(fields)) {
      await this.page.getByLabel(labels[k as keyof typeof labels], { exact: true }).fill(String(v));
    }
  }

  async chooseBackend(label: 'Automatic' | 'WebGPU (GPU)' | 'WebAssembly (CPU)'): Promise<void> {
    await this.page.getByLabel('Compute').selectOption({ label });
    await this.waitReady();
  }

  /** Clicks Generate and waits until the job ends (done, failed or cancelled). */
  async generate(): Promise<void> {
    const before = await this.generations();
    await this.page.getByRole('button', { name: 'Generate' }).click();
    await expect(this.page.locator('body')).toHaveAttribute('data-state', 'generating');
    await expect(this.page.locator('body')).toHaveAttribute('data-state', 'ready');
    const after = await this.generations();
    if (after !== before + 1) throw new Error(`generation did not finish: ${await this.page.locator('#error').textContent()}`);
  }

  generations(): Promise<number> {
    return this.page.evaluate(() => (window as unknown as { __webdiffusion: { generations: number } }).__webdiffusion.generations);
  }

  lastResult(): Promise<{ seed: number; backend: string; width: number; height: number; timings: Record<string, number> }> {
    return this.page.evaluate(() => (window as unknown as { __webdiffusion: { lastResult: never } }).__webdiffusion.lastResult);
  }

  lastError(): Promise<{ code: string; message: string } | null> {
    return this.page.evaluate(() => (window as unknown as { __webdiffusion: { lastError: never } }).__webdiffusion.lastError);
  }

  async pixels(): Promise<Pixels> {
    const { width, height, data } = await this.page.evaluate(() => {
      const c = document.getElementById('canvas') as HTMLCanvasElement;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      return { width: c.width, height: c.height, data: Array.from(d) };
    });
    const bytes = Uint8Array.from(data);
    return { width, height, data: bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
  }

  async screenshot(name: string): Promise<void> {
    mkdirSync(SHOTS, { recursive: true });
    await this.page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
  }
}

export function maxAbsDiff(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Standard deviation of the red channel: an image that is not flat has a clearly positive one. */
export function channelStd(p: Pixels, channel = 0): number {
  let s = 0;
  let s2 = 0;
  const n = p.width * p.height;
  for (let i = 0; i < n; i++) {
    const v = p.data[i * 4 + channel]!;
    s += v;
    s2 += v * v;
  }
  return Math.sqrt(s2 / n - (s / n) ** 2);
}
