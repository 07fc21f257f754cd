import { readFileSync } from 'node:fs';
import { defineConfig } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';

// Cross-origin isolation (COOP/COEP) gives SharedArrayBuffer, hence multi-threaded WASM.
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/** This build's version (page and service worker report it): $WEBDIFFUSION_VERSION or package.json's. */
const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string };
const appVersion = process.env.WEBDIFFUSION_VERSION || pkg.version;

/**
 * The offline service worker (src/sw/service-worker.ts, Workbox precaching) and the web app manifest.
 * Precached: the app shell, the generator worker and onnxruntime's wasm (about 28 MB, hence the size
 * limit). Not precached: models/ (weights go to the weight store, never to the Cache API).
 */
const pwa = VitePWA({
  strategies: 'injectManifest',
  srcDir: 'src/sw',
  filename: 'service-worker.ts',
  injectRegister: false, // src/app/service-worker-client.ts registers it (cross-origin isolation, updates)
  injectManifest: {
    // The plugin adds the manifest and its icons itself.
    globPatterns: ['**/*.{html,js,mjs,css,wasm}'],
    globIgnores: ['models/**'],
    maximumFileSizeToCacheInBytes: 64 * 1024 * 1024,
    rollupFormat: 'iife', // a classic worker: module service workers are not yet everywhere
  },
  manifest: {
    id: './',
    name: 'webdiffusion: Stable Diffusion 3.5 in your browser',
    short_name: 'webdiffusion',
    description: 'Stable Diffusion 3.5 on your own GPU, in the browser. Works offline once a model is installed.',
    start_url: './',
    scope: './',
    display: 'standalone',
    background_color: '#111318',
    theme_color: '#111318',
    icons: [
      { src: 'icons/icon-192.png', sizes: '192x192', type: 'image/png' },
      { src: 'icons/icon-512.png', sizes: '512x512', type: 'image/png' },
      { src: 'icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
      { src: 'icons/icon.svg', sizes: 'any', type: 'image/svg+xml' },
    ],
  },
});

export default defineConfig({
  base: './',
  define: { __APP_VERSION__: JSON.stringify(appVersion) },
  plugins: [pwa],
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  worker: { format: 'es' },
  server: { headers: isolation },
  preview: { headers: isolation },
  build: { target: 'es2022', chunkSizeWarningLimit: 2048 },
});
