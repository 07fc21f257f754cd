/**
 * Cross-origin isolation for hosts that cannot send headers (GitHub Pages and the like): the service
 * worker adds COOP and COEP to every response it serves from its precache, which is how the
 * coi-serviceworker technique works, built into our own worker.
 *
 * COEP is `require-corp`, not `credentialless`: the app loads nothing cross-origin in no-cors mode
 * (weights are fetched in CORS mode, which satisfies require-corp), require-corp works in every
 * browser that isolates (Safari has no credentialless), and it is the same policy that
 * scripts/serve.mjs and the Vite servers send, so both hosting set-ups behave alike.
 */
import type { WorkboxPlugin } from 'workbox-core';

export const ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/** A copy of `response` with the isolation headers set; opaque and error responses are returned as they are. */
export function withIsolationHeaders(response: Response): Response {
  if (response.type === 'opaque' || response.type === 'opaqueredirect' || response.status === 0) return response;
  const headers = new Headers(response.headers);
  for (const [name, value] of Object.entries(ISOLATION_HEADERS)) headers.set(name, value);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

/** Workbox plugin: runs on every response a strategy (here the precache) is about to hand back. */
export const isolationHeadersPlugin: WorkboxPlugin = {
  handlerWillRespond: async ({ response }) => withIsolationHeaders(response),
};
