/**
 * A gated model host, as a person meets it: the pack host answers 401 without an access token; the
 * page asks for one in a dialog naming the host; the person types it; the model installs and
 * generates. The token reaches that host only: not the app's own origin, and not the CDN host a
 * weight file is redirected to (the browser drops Authorization on a cross-origin redirect). The
 * Storage panel lists the host and forgets the token, after which the host asks again.
 */
import { expect, test, type Page } from '@playwright/test';
import { DEFAULT_FIXTURE } from '../src/fixtures/fixture-config.js';
import { buildFixtureFiles } from '../src/fixtures/write-fixture.js';
import { AppPage } from './app-page.js';
import { startPackServer, type PackServer } from './pack-server.js';

const MODEL = 'tiny-sd3';
const TOKEN = 'hf_e2eGatedToken0123456789';
const files = new Map<string, Uint8Array>();
for (const [p, d] of buildFixtureFiles(DEFAULT_FIXTURE)) files.set(`${MODEL}/${p}`, d);

let hub: PackServer;
let cdn: PackServer;

test.describe.configure({ mode: 'serial' });
test.beforeAll(async ({}, info) => {
  test.skip(info.project.name !== 'wasm', 'token handling does not depend on the compute backend; the wasm project runs it');
  hub = await startPackServer({ files });
  cdn = await startPackServer({ files });
  hub.knobs.requireToken = TOKEN;
  // As a hub does for large files: the weights come from a CDN on another host.
  hub.knobs.redirect.set(`${MODEL}/transformer/model.onnx_data`, `${cdn.url}${MODEL}/transformer/model.onnx_data`);
});
test.afterAll(async () => {
  await hub?.close();
  await cdn?.close();
});

async function openStoragePanel(page: Page): Promise<void> {
  const details = page.locator('#storage-details');
  if ((await details.getAttribute('open')) === null) await details.locator('summary').click();
}

test('the page asks for the host’s token, installs with it, and sends it to that host only; the panel forgets it', async ({ page, context, baseURL }) => {
  const hubHost = new URL(hub.url).host;
  const sent: { url: string; authorization: string | undefined }[] = [];
  context.on('request', (r) => void r.allHeaders().then((h) => sent.push({ url: r.url(), authorization: h.authorization })));
  const app = new AppPage(page);
  await app.open(`?packBase=${encodeURIComponent(hub.url)}&model=${MODEL}`);

  const dialog = page.getByRole('dialog', { name: `Access token for ${hubHost}` });
  await expect(dialog).toBeVisible();
  await expect(dialog).toContainText(`sent only to ${hubHost}`);
  await app.screenshot('gated-token-dialog');
  await dialog.getByLabel('Access token').fill(TOKEN);
  await dialog.getByRole('button', { name: 'Save token and continue' }).click();
  await app.waitReady();
  await app.fill({ steps: 2, seed: 9 });
  await app.generate();

  // The hub: first asked without a token (401), then every request carried exactly this token.
  const first = hub.log.findIndex((l) => l.authorization !== null);
  expect(hub.log.slice(0, first).every((l) => l.status === 401 && l.authorization === null)).toBe(true);
  expect(hub.log.slice(first).length).toBeGreaterThan(5);
  expect(hub.log.slice(first).every((l) => l.authorization === `Bearer ${TOKEN}`)).toBe(true);
  // The CDN served the redirected weights and never saw the token; nor did any other host.
  expect(cdn.log.map((l) => l.path)).toContain(`${MODEL}/transformer/model.onnx_data`);
  expect(cdn.log.every((l) => l.authorization === null)).toBe(true);
  await expect.poll(() => sent.some((s) => s.url.startsWith(baseURL!))).toBe(true);
  const elsewhere = sent.filter((s) => new URL(s.url).host !== hubHost && s.authorization !== undefined);
  expect(elsewhere).toEqual([]);

  // The Storage panel lists the host and forgets its token; the host then asks again.
  await openStoragePanel(page);
  const tokens = page.locator('.storage-tokens');
  await expect(tokens).toContainText(hubHost);
  await tokens.getByRole('button', { name: `Forget the access token for ${hubHost}` }).click();
  await expect(tokens).toContainText('No access tokens are stored');
  page.once('dialog', (d) => void d.accept()); // confirm() of Delete
  await page.getByRole('button', { name: 'Delete Demo', exact: true }).click();
  const item = page.locator(`[data-model-id="${MODEL}"]`);
  await expect(item).toHaveAttribute('data-state', 'absent');
  hub.resetStats();
  await page.getByRole('button', { name: 'Download Demo', exact: true }).click();
  await expect(dialog).toBeVisible();
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(item.locator('.storage-message')).toContainText(`${hubHost} needs an access token`);
  expect(hub.log.every((l) => l.authorization === null && l.status === 401)).toBe(true);
});
