/**
 * Access tokens for gated hosts: the host rule (a token goes to its own host only, never to another
 * host, a subdomain, another port, or across a redirect), the SOURCE_NEEDS_TOKEN error, and
 * installs (download and convert-while-downloading) from a server that requires a token.
 */
import 'fake-indexeddb/auto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startPackServer, type PackServer } from '../e2e/pack-server.js';
import { WebDiffusionError } from '../src/errors.js';
import { PackInstaller } from '../src/engine/pack-installer.js';
import { DEFAULT_FIXTURE } from '../src/fixtures/fixture-config.js';
import { buildFixtureFiles } from '../src/fixtures/write-fixture.js';
import { localLocks } from '../src/storage/downloader.js';
import { authorizationFor, needsTokenError, normalizeHost, sourceHost, SourceTokenStore, withSourceTokens } from '../src/storage/source-tokens.js';
import { WeightStore } from '../src/storage/weight-store.js';
import { errorOf } from './helpers.js';

const WASM = { kind: 'wasm', shaderF16: false } as const;
const TOKEN = 'hf_test_token_123';

/** A fetch that records the Authorization header of every request and answers 200. */
function recordingFetch() {
  const seen: { url: string; authorization: string | null }[] = [];
  const f = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    seen.push({ url, authorization: new Headers(init?.headers).get('authorization') });
    return new Response('ok');
  }) as typeof fetch;
  return { f, seen };
}

describe('the host rule', () => {
  const tokens = new Map([['huggingface.co', TOKEN]]);
  const lookup = (host: string) => tokens.get(host);

  it('a host is its name and port, lowercase; other schemes have none', () => {
    expect(sourceHost('https://HuggingFace.co/org/repo/resolve/main/pack.json')).toBe('huggingface.co');
    expect(sourceHost('http://127.0.0.1:4500/x')).toBe('127.0.0.1:4500');
    expect(sourceHost('https://huggingface.co:443/x')).toBe('huggingface.co'); // the default port is no port
    expect(sourceHost('file:///etc/passwd')).toBeNull();
    expect(sourceHost('not a url')).toBeNull();
    expect(normalizeHost(' https://huggingface.co/stabilityai/x ')).toBe('huggingface.co');
    expect(normalizeHost('huggingface.co')).toBe('huggingface.co');
    expect(normalizeHost('')).toBeNull();
  });

  it('sends the token to exactly its host and to no other', async () => {
    const { f, seen } = recordingFetch();
    const authed = withSourceTokens(f, lookup);
    const urls = [
      'https://huggingface.co/stabilityai/stable-diffusion-3.5-medium/resolve/main/pack.json',
      'http://huggingface.co/plain-http-same-host',
      'https://cdn-lfs.huggingface.co/signed', // a subdomain is another host
      'https://huggingface.co.evil.example/x', // a suffix trick
      'https://co/x',
      'https://huggingface.co:8443/other-port',
      'https://example.com/?host=huggingface.co',
    ];
    for (const u of urls) await authed(u);
    expect(seen.map((s) => s.authorization)).toEqual([`Bearer ${TOKEN}`, `Bearer ${TOKEN}`, null, null, null, null, null]);
    expect(await authorizationFor('https://huggingface.co/x', lookup)).toBe(`Bearer ${TOKEN}`);
    expect(await authorizationFor('https://evil.example/huggingface.co', lookup)).toBeNull();
  });

  it('keeps the other headers, and an Authorization header given by the caller', async () => {
    const { f, seen } = recordingFetch();
    const authed = withSourceTokens(f, lookup);
    const headerSeen: Headers[] = [];
    const spy = (async (input: RequestInfo | URL, init?: RequestInit) => {
      headerSeen.push(new Headers(init?.headers));
      return f(input, init);
    }) as typeof fetch;
    await withSourceTokens(spy, lookup)('https://huggingface.co/a', { headers: { Range: 'bytes=5-' } });
    expect(headerSeen[0]!.get('range')).toBe('bytes=5-');
    expect(headerSeen[0]!.get('authorization')).toBe(`Bearer ${TOKEN}`);
    await authed('https://huggingface.co/b', { headers: { Authorization: 'Bearer other' } });
    expect(seen.at(-1)!.authorization).toBe('Bearer other');
  });

  it('401/403 from a source becomes SOURCE_NEEDS_TOKEN naming the host; a refused token says so', () => {
    const missing = (status: number) =>
      new WebDiffusionError('MODEL_FILE_MISSING', 'x', { details: { file: 'pack.json', url: 'http://127.0.0.1:4500/m/pack.json', status } });
    const e = needsTokenError(missing(401), () => false)!;
    expect(e.code).toBe('SOURCE_NEEDS_TOKEN');
    expect(e.details).toMatchObject({ host: '127.0.0.1:4500', status: 401, refused: false, file: 'pack.json' });
    expect(e.message).toContain('127.0.0.1:4500');
    expect(needsTokenError(missing(403), () => true)!.details).toMatchObject({ refused: true });
    expect(needsTokenError(missing(404), () => false)).toBeNull();
    expect(needsTokenError(new Error('x'), () => false)).toBeNull();
  });
});

describe('the token store', () => {
  it('keeps tokens per host in IndexedDB, lists hosts, forgets', async () => {
    const store = new SourceTokenStore('tokens-test');
    await store.set('https://HuggingFace.co/some/repo', ` ${TOKEN} `);
    expect(await store.hosts()).toEqual(['huggingface.co']);
    expect(await new SourceTokenStore('tokens-test').get('huggingface.co')).toBe(TOKEN); // survives a "reload"
    expect(store.sentTo('huggingface.co')).toBe(false);
    await store.get('huggingface.co');
    expect(store.sentTo('huggingface.co')).toBe(true);
    expect((await errorOf(store.set('huggingface.co', 'two words'))).code).toBe('INVALID_REQUEST');
    await store.forget('huggingface.co');
    expect(await store.hosts()).toEqual([]);
    expect(await store.get('huggingface.co')).toBeUndefined();
  });
});

describe('installing from a gated host', () => {
  const files = buildFixtureFiles(DEFAULT_FIXTURE);
  let gated: PackServer;
  let cdn: PackServer;
  beforeAll(async () => {
    gated = await startPackServer({ files });
    cdn = await startPackServer({ files });
    gated.knobs.requireToken = TOKEN;
  });
  afterAll(async () => {
    await gated.close();
    await cdn.close();
  });
  afterEach(() => {
    gated.resetStats();
    cdn.resetStats();
    gated.knobs.redirect.clear();
  });

  let n = 0;
  const setup = () => {
    const tokens = new SourceTokenStore(`gated-${++n}`);
    const store = new WeightStore({ name: `gated-store-${n}`, chunkBytes: 64 * 1024 });
    return { tokens, store, installer: new PackInstaller(store, { storage: null, locks: localLocks(), tokens, backoffMs: 1 }) };
  };
  const modelId = JSON.parse(new TextDecoder().decode(files.get('pack.json'))).id as string;

  it('without a token: SOURCE_NEEDS_TOKEN naming the host, nothing stored; with it: installs, and the token went to that host only', async () => {
    const { tokens, store, installer } = setup();
    const err = await errorOf(installer.install({ modelId, baseUrl: gated.url }, WASM));
    expect(err.code).toBe('SOURCE_NEEDS_TOKEN');
    expect(err.details).toMatchObject({ host: new URL(gated.url).host, status: 401, refused: false });
    expect(await store.getPack(modelId)).toBeUndefined();

    await tokens.set(new URL(gated.url).host, 'wrong');
    const refused = await errorOf(installer.install({ modelId, baseUrl: gated.url }, WASM));
    expect(refused.details).toMatchObject({ refused: true });

    await tokens.set(new URL(gated.url).host, TOKEN);
    // The hub redirects a weight file to its CDN (another origin): the token must not follow.
    gated.knobs.redirect.set('transformer/model.onnx_data', `${cdn.url}transformer/model.onnx_data`);
    gated.resetStats();
    const info = await installer.install({ modelId, baseUrl: gated.url }, WASM);
    expect(info.state).toBe('installed');
    expect(gated.log.length).toBeGreaterThan(5);
    expect(gated.log.every((l) => l.authorization === `Bearer ${TOKEN}`)).toBe(true);
    expect(cdn.log.map((l) => l.path)).toEqual(['transformer/model.onnx_data']);
    expect(cdn.log.every((l) => l.authorization === null)).toBe(true);
  });

  it('convert while downloading from a gated export sends the token on every range request', async () => {
    const { tokens, installer } = setup();
    const err = await errorOf(installer.installFromExport({ modelId: 'tiny-sd3-q4', exportUrl: gated.url, variants: ['q4'] }, WASM));
    expect(err.code).toBe('SOURCE_NEEDS_TOKEN');
    await tokens.set(new URL(gated.url).host, TOKEN);
    gated.resetStats();
    const info = await installer.installFromExport({ modelId: 'tiny-sd3-q4', exportUrl: gated.url, variants: ['q4'] }, WASM);
    expect(info.state).toBe('installed');
    expect(gated.log.some((l) => l.range !== null)).toBe(true);
    expect(gated.log.every((l) => l.authorization === `Bearer ${TOKEN}`)).toBe(true);
  });
});
