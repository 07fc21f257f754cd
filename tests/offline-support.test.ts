/**
 * The pure parts of offline support: the headers the service worker adds for cross-origin isolation,
 * the page's one-reload decision, and the network status it shows.
 */
import { describe, expect, it } from 'vitest';
import { networkStatus, STATUS_TEXT } from '../src/app/offline-status.js';
import { planIsolation } from '../src/app/service-worker-client.js';
import { ISOLATION_HEADERS, withIsolationHeaders } from '../src/sw/isolation-headers.js';

describe('withIsolationHeaders', () => {
  it('adds COOP same-origin and COEP require-corp, keeping status, other headers and body', async () => {
    const original = new Response('<!doctype html>hello', { status: 200, statusText: 'OK', headers: { 'Content-Type': 'text/html', ETag: '"abc"' } });
    const r = withIsolationHeaders(original);
    expect(r.headers.get('Cross-Origin-Opener-Policy')).toBe('same-origin');
    expect(r.headers.get('Cross-Origin-Embedder-Policy')).toBe('require-corp');
    expect(r.headers.get('Content-Type')).toBe('text/html');
    expect(r.headers.get('ETag')).toBe('"abc"');
    expect(r.status).toBe(200);
    expect(r.statusText).toBe('OK');
    expect(await r.text()).toBe('<!doctype html>hello');
  });

  it('replaces weaker policies the response already had', () => {
    const r = withIsolationHeaders(new Response('x', { headers: { 'Cross-Origin-Embedder-Policy': 'unsafe-none' } }));
    expect(r.headers.get('Cross-Origin-Embedder-Policy')).toBe(ISOLATION_HEADERS['Cross-Origin-Embedder-Policy']);
  });

  it('keeps error statuses and binary bodies intact', async () => {
    const bytes = Uint8Array.from([0, 97, 115, 109, 1, 0, 0, 0]);
    const r = withIsolationHeaders(new Response(bytes, { status: 404, statusText: 'Not Found' }));
    expect(r.status).toBe(404);
    expect(new Uint8Array(await r.arrayBuffer())).toEqual(bytes);
  });

  it('leaves a network error (status 0) as it is', () => {
    const err = Response.error();
    expect(withIsolationHeaders(err)).toBe(err);
  });
});

describe('planIsolation', () => {
  it('does nothing when the server already isolates the page', () => {
    expect(planIsolation({ isolated: true, serviceWorkers: true, reloadedBefore: false })).toBe('isolated');
    expect(planIsolation({ isolated: true, serviceWorkers: false, reloadedBefore: true })).toBe('isolated');
  });
  it('reloads once under the service worker when the page is not isolated', () => {
    expect(planIsolation({ isolated: false, serviceWorkers: true, reloadedBefore: false })).toBe('reload-for-isolation');
  });
  it('never reloads a second time, and not at all without service workers', () => {
    expect(planIsolation({ isolated: false, serviceWorkers: true, reloadedBefore: true })).toBe('without-isolation');
    expect(planIsolation({ isolated: false, serviceWorkers: false, reloadedBefore: false })).toBe('without-isolation');
  });
});

describe('networkStatus', () => {
  it('says offline first, then whether the app is stored for offline use', () => {
    expect(networkStatus(false, false)).toBe('offline');
    expect(networkStatus(false, true)).toBe('offline');
    expect(networkStatus(true, true)).toBe('offline-ready');
    expect(networkStatus(true, false)).toBe('online');
    expect(STATUS_TEXT.offline.join('')).toBe('Offline · installed models still work');
    expect(STATUS_TEXT.online.join('')).toBe('');
  });
});
