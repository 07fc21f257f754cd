/**
 * The app as a person uses it (page object): type a prompt, set fields, click Generate, wait,
 * read the canvas back.
 */
import { expect, type Page } from '@playwright/test';
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';

/**
 * How long to wait for a generation to end. WebGPU on SwiftShader (a CPU Vulkan) takes 30-90 s for
 * one demo image on a loaded 2-core machine; this is a wait, not a speed assertion.
 */
export const GENERATION_WAIT_MS = 180_000;

export interface Pixels {
  width: number;
  height: number;
  data: Uint8Array;
  sha256: string;
}

export const SHOTS = 'e2e-artifacts';

const labels = { prompt: 'Prompt', negative: 'Negative prompt', width: 'Width', height: 'Height', steps: 'Steps', guidance: 'Guidance', seed: 'Seed', count: 'Images' } as const;
export type Field = keyof typeof labels;

/** What the page's test hook (window.__webdiffusion) holds. */
export interface Hook {
  state: string;
  generations: number;
  previews: number;
  seeds: number[];
  requests: number;
  lastResult: { seed: number; backend: string; width: number; height: number } | null;
  lastError: { code: string; message: string } | null;
}

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

  async fill(fields: Partial<Record<Field, string | number>>): Promise<void> {
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
    await expect(this.page.locator('body')).toHaveAttribute('data-state', 'ready', { timeout: GENERATION_WAIT_MS });
    const after = await this.generations();
    if (after !== before + 1) throw new Error(`generation did not finish: ${await this.page.locator('#error').textContent()}`);
  }

  field(name: Field) {
    return this.page.getByLabel(labels[name], { exact: true });
  }

  /** The form's values, as the fields hold them. */
  async values(): Promise<Record<Field, string>> {
    const out = {} as Record<Field, string>;
    for (const k of Object.keys(labels) as Field[]) out[k] = await this.field(k).inputValue();
    return out;
  }

  hook(): Promise<Hook> {
    return this.page.evaluate(() => JSON.parse(JSON.stringify((window as unknown as { __webdiffusion: unknown }).__webdiffusion)) as Hook);
  }

  /** Waits until every queued image is done (the page is back to "ready"). */
  async waitIdle(): Promise<void> {
    await expect(this.page.locator('body')).toHaveAttribute('data-state', 'ready', { timeout: GENERATION_WAIT_MS });
  }

  historyItems() {
    return this.page.locator('#history > li');
  }

  /** Drops a file on the page the way a person's drag and drop does. */
  async dropFile(bytes: Uint8Array, name: string, type = 'image/png'): Promise<void> {
    const dataTransfer = await this.page.evaluateHandle(
      ({ data, name, type }) => {
        const dt = new DataTransfer();
        dt.items.add(new File([Uint8Array.from(data)], name, { type }));
        return dt;
      },
      { data: Array.from(bytes), name, type },
    );
    await this.page.dispatchEvent('main', 'dragenter', { dataTransfer });
    await this.page.dispatchEvent('main', 'drop', { dataTransfer });
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
