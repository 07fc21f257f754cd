/**
 * Embedding: the example site (examples/static-site) served by a plain static server that sends no
 * COOP/COEP headers, loading the library build (dist-lib, `npm run build:lib`). The element and the
 * library API generate; two elements share one worker; the host page's CSS does not change the
 * element; a model with a licence asks before its first download.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { expect, test, type Locator, type Page } from '@playwright/test';

let server: ChildProcess;
let site: string;

test.beforeAll(async () => {
  // Needs dist-lib (`npm run build:lib`; npm test builds it before this stage).
  server = spawn(process.execPath, ['examples/static-site/serve.mjs', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  server.stdout!.setEncoding('utf8');
  server.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  while (!/serving (http:\S+)/.test(out)) {
    const [chunk] = (await Promise.race([once(server.stdout!, 'data'), once(server, 'exit').then(() => [null])])) as [string | null];
    if (chunk === null) throw new Error(`The example server stopped: ${out}`);
    out += chunk;
  }
  site = /serving (http:\S+)/.exec(out)![1]!;
});

test.afterAll(() => {
  server?.kill();
});

interface ImageFacts {
  width: number;
  height: number;
  sha256: string;
  bytes: number;
  /** Standard deviation of the red channel: 0 for a blank image. */
  std: number;
  /** The PNG's "parameters" text chunk as latin1 text ('' when absent). */
  text: string;
}

/** Reads an image URL (object URL of the page) back: size, hash of the PNG bytes, pixel spread. */
function imageFacts(page: Page, url: string): Promise<ImageFacts> {
  return page.evaluate(async (href) => {
    const blob = await (await fetch(href)).blob();
    const bytes = new Uint8Array(await blob.arrayBuffer());
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
    const bitmap = await createImageBitmap(blob);
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext('2d')!;
    ctx.drawImage(bitmap, 0, 0);
    const px = ctx.getImageData(0, 0, bitmap.width, bitmap.height).data;
    let sum = 0;
    let sq = 0;
    const n = px.length / 4;
    for (let i = 0; i < px.length; i += 4) {
      sum += px[i]!;
      sq += px[i]! * px[i]!;
    }
    const mean = sum / n;
    return {
      width: bitmap.width,
      height: bitmap.height,
      sha256: [...digest].map((b) => b.toString(16).padStart(2, '0')).join(''),
      bytes: bytes.length,
      std: Math.sqrt(sq / n - mean * mean),
      text: new TextDecoder('latin1').decode(bytes.subarray(0, 2048)),
    };
  }, url);
}

interface Recorded {
  type: string;
  target: string;
  code?: string;
  phase?: string;
  seed?: number;
  width?: number;
  height?: number;
}

/** Records the elements' events (they bubble out of the shadow root and are composed). */
async function recordEvents(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const events: Recorded[] = [];
    (window as unknown as { __events: Recorded[] }).__events = events;
    for (const type of ['sd-progress', 'sd-image', 'sd-error']) {
      document.addEventListener(type, (e) => {
        const d = (e as CustomEvent).detail as { code?: string; phase?: string; params?: { seed: number; width: number; height: number } };
        events.push({ type, target: (e.target as HTMLElement).id, code: d.code, phase: d.phase, seed: d.params?.seed, width: d.params?.width, height: d.params?.height });
      });
    }
  });
}
const events = (page: Page) => page.evaluate(() => (window as unknown as { __events: Recorded[] }).__events);

/** Presses the element's Generate button and waits until its status says it finished. */
async function generateIn(el: Locator): Promise<void> {
  // Wait for the element's own "finished" event (sd-image or sd-error) of THIS run: its status line
  // still says "Done" from the previous image right after the click.
  type Waiting = HTMLElement & { __finished?: Promise<string> };
  await el.evaluate((node: Waiting) => {
    node.__finished = new Promise<string>((resolve) => {
      const finish = (e: Event) => {
        node.removeEventListener('sd-image', finish);
        node.removeEventListener('sd-error', finish);
        resolve(e.type);
      };
      node.addEventListener('sd-image', finish);
      node.addEventListener('sd-error', finish);
    });
  });
  await el.getByRole('button', { name: 'Generate' }).click();
  await el.evaluate((node: Waiting) => node.__finished);
}

/**
 * What embedding adds (headers, shadow DOM, a shared worker, events, the library build) does not
 * depend on the backend, so the heavier tests run on the WebAssembly project only; WebGPU on
 * SwiftShader is about 30 times slower. The last test generates through the library build on both.
 */
const wasmOnly = () => test.skip(test.info().project.name !== 'wasm', 'backend-independent; WebGPU on SwiftShader is too slow for it');

const downloadUrl = (el: Locator) => el.getByRole('link', { name: 'Download PNG' }).getAttribute('href') as Promise<string>;
const generatorWorkers = (page: Page) => page.workers().filter((w) => w.url().includes('generator.worker'));

test('the element generates on a plain static page: two elements, one worker, same seed same bytes', async ({ page }) => {
  wasmOnly();
  await recordEvents(page);
  const failed: string[] = [];
  page.on('requestfailed', (r) => failed.push(`${r.url()} ${r.failure()?.errorText}`));
  const weightRequests: string[] = [];
  page.on('request', (r) => {
    if (r.url().includes('/models/') && r.url().endsWith('.onnx_data')) weightRequests.push(new URL(r.url()).pathname);
  });
  const response = await page.goto(`${site}index.html`);
  const headers = response!.headers();
  expect(headers['cross-origin-opener-policy']).toBeUndefined();
  expect(headers['cross-origin-embedder-policy']).toBeUndefined();
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(false);

  const first = page.locator('#first');
  const second = page.locator('#second');
  await expect(first.getByRole('textbox', { name: 'Prompt' })).toHaveValue('a lighthouse on a cliff at dusk');
  await first.getByRole('textbox', { name: 'Prompt' }).fill('a watercolor lighthouse');
  // Both at once: the second waits for the first on the shared worker.
  await first.getByRole('button', { name: 'Generate' }).click();
  await second.getByRole('button', { name: 'Generate' }).click();
  await expect(first.getByRole('status')).toContainText('Done');
  await expect(second.getByRole('status')).toContainText('Done');
  await expect(second.getByRole('status')).toContainText('seed 7');

  const a = await imageFacts(page, await downloadUrl(first));
  const b = await imageFacts(page, await downloadUrl(second));
  expect([a.width, a.height]).toEqual([256, 256]);
  expect([b.width, b.height]).toEqual([192, 256]);
  expect(a.std).toBeGreaterThan(10);
  expect(b.std).toBeGreaterThan(10);
  expect(b.text).toContain('Seed: 7, Size: 192x256, Model: tiny-sd3');
  expect(a.text).toContain('a watercolor lighthouse');
  expect(generatorWorkers(page)).toHaveLength(1);

  const log = await events(page);
  const images = log.filter((e) => e.type === 'sd-image');
  expect(images.map((e) => [e.target, e.width, e.height])).toEqual([
    ['first', 256, 256],
    ['second', 192, 256],
  ]);
  for (const id of ['first', 'second']) expect(log.some((e) => e.type === 'sd-progress' && e.target === id && e.phase === 'denoising')).toBe(true);
  // The first one downloaded and loaded the model; the second found it loaded. Each file came once.
  expect(log.some((e) => e.type === 'sd-progress' && e.target === 'first' && e.phase === 'downloading')).toBe(true);
  expect(log.some((e) => e.type === 'sd-progress' && e.target === 'first' && e.phase === 'loading')).toBe(true);
  expect(log.some((e) => e.type === 'sd-progress' && e.target === 'second' && (e.phase === 'downloading' || e.phase === 'loading'))).toBe(false);
  expect(weightRequests.length).toBeGreaterThan(0);
  expect(new Set(weightRequests).size).toBe(weightRequests.length);
  expect(log.filter((e) => e.type === 'sd-error')).toEqual([]);
  // The page's own listener saw them too (composed events reach the document).
  await expect(page.locator('#log')).toContainText('second: image 192×256, seed 7');

  // Same seed, same bytes: the second again, and the first with the seed it reported.
  await generateIn(second);
  expect((await imageFacts(page, await downloadUrl(second))).sha256).toBe(b.sha256);
  const firstSeed = images[0]!.seed!;
  await page.evaluate((seed) => document.getElementById('first')!.setAttribute('seed', String(seed)), firstSeed);
  await generateIn(first);
  expect((await imageFacts(page, await downloadUrl(first))).sha256).toBe(a.sha256);
  await page.evaluate(() => document.getElementById('first')!.setAttribute('seed', '1'));
  await generateIn(first);
  expect((await imageFacts(page, await downloadUrl(first))).sha256).not.toBe(a.sha256);
  expect(generatorWorkers(page)).toHaveLength(1);
  expect(failed).toEqual([]);
});

test('the element cancels at the next step, reports bad settings with their codes, and works again', async ({ page }) => {
  wasmOnly();
  await recordEvents(page);
  await page.goto(`${site}index.html`);
  const el = page.locator('#second');
  await page.evaluate(() => document.getElementById('second')!.setAttribute('steps', '100'));
  await el.getByRole('button', { name: 'Generate' }).click();
  await expect(el.getByRole('status')).toContainText(/Step \d+\/100/);
  await el.getByRole('button', { name: 'Cancel' }).click();
  await expect(el.getByRole('status')).toHaveText('Cancelled.');
  expect((await events(page)).filter((e) => e.type === 'sd-error').map((e) => e.code)).toEqual(['CANCELLED']);
  await expect(el.getByRole('link', { name: 'Download PNG' })).toBeHidden();

  // A size the model cannot make: the engine's code reaches the element.
  await page.evaluate(() => {
    const e = document.getElementById('second')!;
    e.setAttribute('steps', '2');
    e.setAttribute('width', '100');
  });
  await generateIn(el);
  await expect(el.getByRole('alert')).toContainText('INVALID_SIZE');
  // An attribute that is not a number is named, and the default is used.
  await page.evaluate(() => document.getElementById('second')!.setAttribute('width', 'wide'));
  await expect(el.getByText('width="wide" is not a whole number')).toBeVisible();
  await generateIn(el);
  await expect(el.getByRole('alert')).toBeHidden();
  const facts = await imageFacts(page, await downloadUrl(el));
  expect([facts.width, facts.height]).toEqual([256, 256]);
  expect((await events(page)).filter((e) => e.type === 'sd-error').map((e) => e.code)).toEqual(['CANCELLED', 'INVALID_SIZE']);
});

/**
 * Two PNG screenshots of the same size compared pixel by pixel (decoded in the page): how many
 * pixels differ by more than `tolerance` levels in a channel, and the largest difference.
 */
function pixelDiff(page: Page, a: Buffer, b: Buffer, tolerance: number): Promise<{ sizes: [number, number][]; differing: number; maxDelta: number }> {
  return page.evaluate(
    async ([x, y, tol]) => {
      const decode = async (b64: string) => {
        const bitmap = await createImageBitmap(await (await fetch(`data:image/png;base64,${b64}`)).blob());
        const c = new OffscreenCanvas(bitmap.width, bitmap.height);
        const ctx = c.getContext('2d')!;
        ctx.drawImage(bitmap, 0, 0);
        return { w: bitmap.width, h: bitmap.height, px: ctx.getImageData(0, 0, bitmap.width, bitmap.height).data };
      };
      const [p, q] = await Promise.all([decode(x), decode(y)]);
      const sizes = [[p.w, p.h], [q.w, q.h]] as [number, number][];
      if (p.w !== q.w || p.h !== q.h) return { sizes, differing: p.w * p.h, maxDelta: 255 };
      let differing = 0;
      let maxDelta = 0;
      for (let i = 0; i < p.px.length; i += 4) {
        const d = Math.max(Math.abs(p.px[i]! - q.px[i]!), Math.abs(p.px[i + 1]! - q.px[i + 1]!), Math.abs(p.px[i + 2]! - q.px[i + 2]!));
        maxDelta = Math.max(maxDelta, d);
        if (d > tol) differing++;
      }
      return { sizes, differing, maxDelta };
    },
    [a.toString('base64'), b.toString('base64'), tolerance] as const,
  );
}

const HOSTILE_CSS = `
  * { all: unset !important; }
  html { font-size: 300% !important; line-height: 3 !important; }
  body, body * { font-family: "Comic Sans MS", cursive !important; font-size: 47px !important; letter-spacing: 9px !important; color: red !important; }
  div, p, section { display: block !important; padding: 13px !important; margin: 7px 11px !important; }
  sd-generator { display: inline !important; width: 900px !important; height: 40px !important; padding: 60px !important; margin: 30px !important;
    border: 12px dotted lime !important; background: yellow !important; font-size: 80px !important; line-height: 5 !important; text-transform: uppercase !important; }
  button, textarea, progress, img, a { display: none !important; width: 3px !important; }
  :root { --unrelated: 1; }
`;

test("the host page's CSS does not change the element's layout", async ({ page }) => {
  wasmOnly();
  await page.goto(`${site}index.html`);
  // The element first on the page, the page's own content after it: the hostile stylesheet moves
  // everything around, but the element stays on whole-pixel coordinates in both screenshots (at a
  // fractional offset the browser antialiases edges differently: a rendering matter, not layout).
  await page.evaluate(() => {
    const el = document.getElementById('second')!;
    const rest = [...document.body.children].filter((c) => !c.contains(el) && c.tagName !== 'SCRIPT');
    document.body.replaceChildren(el, ...rest);
  });
  const el = page.locator('#second');
  await generateIn(el);
  await expect(el.getByRole('status')).toContainText('Done');
  const statusText = await el.getByRole('status').textContent();
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  const before = { box: await el.boundingBox(), shot: await el.screenshot({ animations: 'disabled' }) };
  const headingBefore = await page.locator('h1').evaluate((h) => getComputedStyle(h).fontSize);

  await page.addStyleTag({ content: HOSTILE_CSS });
  // The stylesheet did hit the page…
  expect(await page.locator('h1').evaluate((h) => getComputedStyle(h).fontSize)).not.toBe(headingBefore);
  expect(await page.locator('h1').evaluate((h) => getComputedStyle(h).display)).toBe('inline');
  // …but not the element: same box, same pixels.
  await expect(el.getByRole('status')).toHaveText(statusText!);
  const after = { box: await el.boundingBox(), shot: await el.screenshot({ animations: 'disabled' }) };
  expect([after.box!.width, after.box!.height]).toEqual([before.box!.width, before.box!.height]);
  expect(before.box!.height).toBeGreaterThan(300); // the image, not an empty box
  // Every pixel the same, up to one or two levels where the rounded corners are antialiased (the
  // raster of a corner depends a little on where on the page it lands). A layout change, even by
  // one pixel, moves text and edges by far more.
  const diff = await pixelDiff(page, before.shot, after.shot, 2);
  expect(diff.sizes[1]).toEqual(diff.sizes[0]);
  expect(diff.differing).toBe(0);
  expect(diff.maxDelta).toBeLessThanOrEqual(2);
  test.info().attachments.push({ name: 'element-with-hostile-css', contentType: 'image/png', body: after.shot });
});

test('the library API generates on a plain static page, with the same bytes for the same seed', async ({ page }) => {
  wasmOnly();
  const failed: string[] = [];
  page.on('requestfailed', (r) => failed.push(`${r.url()} ${r.failure()?.errorText}`));
  await page.goto(`${site}library.html`);
  const generate = async (seed: string) => {
    // Each finished image gets a new object URL on the download link: wait for that, not for the
    // status text, which still says "Done on …" from the previous image right after the click.
    const before = await page.locator('#download').getAttribute('href');
    await page.getByLabel('Seed').fill(seed);
    await page.getByRole('button', { name: 'Generate' }).click();
    await expect(page.locator('#download')).not.toHaveAttribute('href', before ?? '');
    await expect(page.getByRole('status')).toContainText('Done on');
    return JSON.parse((await page.locator('#params').textContent())!) as { seed: number; width: number; height: number; steps: number; model: string };
  };
  await page.getByLabel('Prompt').fill('a red fox in the snow');
  const params = await generate('1234');
  expect(params).toMatchObject({ seed: 1234, width: 256, height: 256, steps: 8, model: 'tiny-sd3' });
  const canvas = await page.locator('#canvas').evaluate((c: HTMLCanvasElement) => {
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let min = 255;
    let max = 0;
    for (let i = 0; i < d.length; i += 4) (min = Math.min(min, d[i]!)), (max = Math.max(max, d[i]!));
    return { width: c.width, height: c.height, min, max };
  });
  expect([canvas.width, canvas.height]).toEqual([256, 256]);
  expect(canvas.max - canvas.min).toBeGreaterThan(40);
  const link = () => page.getByRole('link', { name: 'Download PNG' }).getAttribute('href') as Promise<string>;
  const first = await imageFacts(page, await link());
  expect(first.std).toBeGreaterThan(10);
  expect(first.text).toContain('Seed: 1234');
  await generate('1234');
  expect((await imageFacts(page, await link())).sha256).toBe(first.sha256);
  const random = await generate('');
  expect(random.seed).not.toBe(1234);
  expect((await imageFacts(page, await link())).sha256).not.toBe(first.sha256);
  expect(generatorWorkers(page)).toHaveLength(1);
  await expect(page.getByRole('alert')).toHaveText('');
  expect(failed).toEqual([]);
});

test('a model with a licence asks before its first download, inside the element', async ({ page }) => {
  wasmOnly();
  await recordEvents(page);
  const packRequests: string[] = [];
  page.on('request', (r) => {
    if (r.url().includes('/packs/')) packRequests.push(new URL(r.url()).pathname);
  });
  await page.goto(`${site}index.html`);
  const add = () =>
    page.evaluate(() => document.body.insertAdjacentHTML('beforeend', '<sd-generator id="medium" model="sd35-medium" pack-base="packs/" prompt="a cat"></sd-generator>'));
  await add();
  const el = page.locator('#medium');
  await el.getByRole('button', { name: 'Generate' }).click();
  const dialog = el.getByRole('dialog');
  await expect(dialog).toBeVisible();
  await expect(dialog.getByRole('link', { name: 'Stability AI Community License' })).toHaveAttribute('href', 'https://stability.ai/community-license-agreement');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(el.getByRole('alert')).toContainText('LICENSE_NOT_ACCEPTED');
  expect(packRequests).toEqual([]);

  await el.getByRole('button', { name: 'Generate' }).click();
  await dialog.getByRole('button', { name: 'Accept and download' }).click();
  // No pack is hosted there: the download is tried, and its failure comes back with a code.
  await expect(el.getByRole('alert')).toContainText('MODEL_FILE_MISSING');
  expect(packRequests).toContain('/packs/sd35-medium/pack.json');
  expect((await events(page)).filter((e) => e.type === 'sd-error').map((e) => e.code)).toEqual(['LICENSE_NOT_ACCEPTED', 'MODEL_FILE_MISSING']);

  // Accepted once in this browser: not asked again after a reload.
  await page.reload();
  await add();
  packRequests.length = 0;
  await el.getByRole('button', { name: 'Generate' }).click();
  await expect(el.getByRole('alert')).toContainText('MODEL_FILE_MISSING');
  await expect(dialog).toBeHidden();
  expect(packRequests).toContain('/packs/sd35-medium/pack.json');
});

test("the element generates through the library build on this project's backend", async ({ page }) => {
  const webgpu = test.info().project.name === 'webgpu';
  await page.goto(`${site}index.html`);
  await page.evaluate(() => document.getElementById('second')!.setAttribute('steps', '2'));
  const el = page.locator('#second');
  await generateIn(el);
  await expect(el.getByRole('status')).toContainText(webgpu ? 'on WebGPU' : 'on WebAssembly');
  const facts = await imageFacts(page, await downloadUrl(el));
  expect([facts.width, facts.height]).toEqual([192, 256]);
  expect(facts.std).toBeGreaterThan(5);
  expect(facts.text).toContain('Steps: 2,');
  expect(generatorWorkers(page)).toHaveLength(1);
});
