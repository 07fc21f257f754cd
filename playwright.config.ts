import { defineConfig } from '@playwright/test';
import { BASE_ARGS, requireChromium } from './e2e/chromium.js';

const executablePath = requireChromium();
const PORT = Number(process.env.E2E_PORT ?? 4317);
/** Built app to serve (E2E_DIST lets parallel checkouts use their own build folder). */
const DIST = process.env.E2E_DIST ?? 'dist';

export default defineConfig({
  testDir: 'e2e',
  outputDir: 'test-results/e2e',
  timeout: 120_000,
  expect: { timeout: 60_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list'], ['json', { outputFile: 'test-results/playwright.json' }]],
  use: {
    baseURL: `http://127.0.0.1:${PORT}/`,
    browserName: 'chromium',
    viewport: { width: 1100, height: 800 },
  },
  webServer: {
    command: `node scripts/serve.mjs --port ${PORT} --dir ${DIST}`,
    url: `http://127.0.0.1:${PORT}/`,
    reuseExistingServer: !process.env.CI,
    timeout: 30_000,
  },
  projects: [
    {
      // Chromium's WebGPU on SwiftShader (a CPU Vulkan): a real adapter without shader-f16.
      name: 'webgpu',
      // SwiftShader generations are slow (see GENERATION_WAIT_MS in e2e/app-page.ts).
      timeout: 300_000,
      use: { launchOptions: { executablePath, args: [...BASE_ARGS, '--enable-unsafe-webgpu'] } },
    },
    {
      // No WebGPU flag: requestAdapter() gives null, so the app must fall back to WebAssembly.
      name: 'wasm',
      use: { launchOptions: { executablePath, args: BASE_ARGS } },
    },
  ],
});
