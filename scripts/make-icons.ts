// Renders the app icon (public/icons/icon.svg) to the PNG sizes the web app manifest lists
// (public/icons/icon-192.png, icon-512.png) with the Chromium the end-to-end tests use.
// Usage: npx tsx scripts/make-icons.ts   (rerun after editing the SVG; the PNGs are committed)
import { readFileSync } from 'node:fs';
import { chromium } from '@playwright/test';
import { requireChromium } from '../e2e/chromium.js';

const svg = readFileSync('public/icons/icon.svg', 'utf8');
const browser = await chromium.launch({ executablePath: requireChromium(), args: ['--no-sandbox'] });
try {
  for (const size of [192, 512]) {
    const page = await browser.newPage({ viewport: { width: size, height: size } });
    const url = `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`;
    await page.setContent(`<html><body style="margin:0"><img src="${url}" width="${size}" height="${size}" style="display:block"></body></html>`);
    await page.locator('img').evaluate((img: HTMLImageElement) => img.decode());
    await page.screenshot({ path: `public/icons/icon-${size}.png`, omitBackground: false });
    await page.close();
    console.log(`public/icons/icon-${size}.png`);
  }
} finally {
  await browser.close();
}
