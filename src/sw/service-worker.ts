/**
 * The service worker (built by vite-plugin-pwa's injectManifest from this file; Workbox does the
 * caching). It precaches the app shell, the generator worker and onnxruntime's wasm, so that after
 * one visit the app starts with no network. Weights are never touched here: they live in the weight
 * store (IndexedDB), and their downloads (models/ on this origin, pack hosts on others) match no
 * route, so the browser fetches them as if there were no service worker (no caching, no buffering,
 * byte ranges and progress intact).
 *
 * Updates never mix two deployments in one tab:
 * - Every precached file is keyed by its content (hashed names, or a revision for index.html and the
 *   icons), so a tab is always served the files of the deployment its service worker was built with.
 * - A new worker installs next to the old one and waits: the old worker keeps serving the old files
 *   to open tabs (its entries stay in the cache until the new worker activates).
 * - It activates only when the person accepts the page's "Reload" prompt (SKIP_WAITING), or when no
 *   tab of the old version is left. The accepting tab reloads as soon as the new worker controls it.
 *   Outdated entries are deleted only at activation.
 * - Other tabs still open on the old version keep its code in memory and show the same prompt. A
 *   file such a tab might still fetch has a content-hashed name: it is either identical in the new
 *   version or absent (a failed request), never the new version's file under the old name.
 */
/// <reference lib="webworker" />
import { clientsClaim } from 'workbox-core';
import { addPlugins, cleanupOutdatedCaches, precacheAndRoute, type PrecacheEntry } from 'workbox-precaching';
import { APP_VERSION } from '../version.js';
import { isolationHeadersPlugin } from './isolation-headers.js';
import { GET_VERSION, SKIP_WAITING, type VersionReply } from './messages.js';

declare const self: ServiceWorkerGlobalScope & { __WB_MANIFEST: (PrecacheEntry | string)[] };

// COOP/COEP on everything served from the precache (the page itself included).
addPlugins([isolationHeadersPlugin]);
precacheAndRoute(self.__WB_MANIFEST, {
  // The page is opened with query strings (?model=…, ?packBase=…): they all mean index.html.
  ignoreURLParametersMatching: [/.*/],
  directoryIndex: 'index.html',
  cleanURLs: false,
});
// Caches left by older Workbox versions (not older deployments: those are entries, see above).
cleanupOutdatedCaches();

self.addEventListener('message', (event) => {
  const type = (event.data as { type?: unknown } | null)?.type;
  if (type === SKIP_WAITING) void self.skipWaiting();
  else if (type === GET_VERSION) event.ports[0]?.postMessage({ version: APP_VERSION } satisfies VersionReply);
});

// On the first install there is no older version to mix with: take control of the open page at
// once (it needs this worker's headers for cross-origin isolation, and offline use starts now). On
// an update, activation only happens after SKIP_WAITING or when the old tabs are gone (see above).
clientsClaim();
