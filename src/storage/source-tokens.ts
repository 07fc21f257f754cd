/**
 * Access tokens for gated model hosts (a hub repository that answers 401/403 without one).
 *
 * - A token is kept per host (`URL.host`: name and port) in this browser only, in an IndexedDB
 *   store of its own (idb-keyval); the worker reads it, the page writes and forgets it through the
 *   worker API.
 * - The host rule (`authorizationFor`): a request carries `Authorization: Bearer <token>` only when
 *   its URL's host equals the host the token was given for, over http(s). Never to another host,
 *   never to a subdomain or a parent domain. Across a redirect to another origin the browser (and
 *   Node's fetch) drop the Authorization header themselves (Fetch standard, "HTTP-redirect fetch"),
 *   so a signed CDN URL a hub redirects to never sees it.
 * - `needsTokenError`: a 401/403 from a source becomes SOURCE_NEEDS_TOKEN naming the host, so the
 *   page can ask the person for a token and try again.
 *
 * No node: imports and no DOM: used by the worker (downloader, converter sources) and in tests.
 */
import { createStore, del, get, keys, set, type UseStore } from 'idb-keyval';
import { WebDiffusionError } from '../errors.js';

/** Looks up the token stored for a host (undefined: none). */
export type TokenLookup = (host: string) => Promise<string | undefined> | string | undefined;

/** The host a token is kept under for `url` (name and port, lowercase); null for non-http(s) or unparsable URLs. */
export function sourceHost(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  return u.protocol === 'http:' || u.protocol === 'https:' ? u.host.toLowerCase() : null;
}

/** A host as a person may type or paste it ("https://huggingface.co/…" or "huggingface.co") → "huggingface.co"; null if unusable. */
export function normalizeHost(value: string): string | null {
  const v = value.trim();
  if (!v) return null;
  return sourceHost(/^[a-z][a-z0-9+.-]*:\/\//i.test(v) ? v : `https://${v}`);
}

/** The Authorization header value for a request to `url`, when a token is stored for exactly its host. */
export async function authorizationFor(url: string, lookup: TokenLookup): Promise<string | null> {
  const host = sourceHost(url);
  if (!host) return null;
  const token = await lookup(host);
  return token ? `Bearer ${token}` : null;
}

const requestUrl = (input: RequestInfo | URL): string => (typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);

/**
 * `fetch` that adds the stored token of the request's own host (and only that host's). A request
 * that already has an Authorization header keeps it. Redirects are followed as usual: the platform
 * removes Authorization when a redirect leaves the origin.
 */
export function withSourceTokens(fetchFn: typeof fetch, lookup: TokenLookup): typeof fetch {
  return async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const auth = await authorizationFor(requestUrl(input), lookup);
    if (!auth) return fetchFn(input, init);
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
    if (!headers.has('authorization')) headers.set('Authorization', auth);
    return fetchFn(input, { ...init, headers });
  };
}

/**
 * SOURCE_NEEDS_TOKEN for an error that says a source answered 401 or 403 (the downloader's and the
 * converter's MODEL_FILE_MISSING carry `status` and `url` in their details); null for other errors.
 */
export function needsTokenError(e: unknown, tokenSent: (host: string) => boolean): WebDiffusionError | null {
  if (!(e instanceof WebDiffusionError) || e.code !== 'MODEL_FILE_MISSING') return null;
  const status = e.details?.status;
  const url = e.details?.url;
  if ((status !== 401 && status !== 403) || typeof url !== 'string') return null;
  const host = sourceHost(url);
  if (!host) return null;
  const refused = tokenSent(host);
  return new WebDiffusionError(
    'SOURCE_NEEDS_TOKEN',
    refused
      ? `${host} refused the access token stored for it (HTTP ${status} for ${url}).`
      : `${host} needs an access token to download this model (HTTP ${status} for ${url}).`,
    {
      hint: refused
        ? `Check that the token is valid and that your account has accepted the model's terms on ${host}, then enter it again.`
        : `The repository is gated: accept its terms on ${host} with your account, create an access token (read access), and enter it when asked. It is kept in this browser only and sent only to ${host}.`,
      details: { host, url, status, refused, file: e.details?.file },
      cause: e,
    },
  );
}

/** Tokens by host, in an IndexedDB store of their own (this browser only). */
export class SourceTokenStore {
  private readonly db: UseStore;
  /** Hosts a token was sent to during this session (to tell "needs one" from "refused it"). */
  private readonly used = new Set<string>();

  constructor(name = 'webdiffusion') {
    this.db = createStore(`${name}-source-tokens`, 'tokens');
  }

  async get(host: string): Promise<string | undefined> {
    const token = await get<string>(host.toLowerCase(), this.db);
    if (token) this.used.add(host.toLowerCase());
    return token;
  }

  /** Whether a token was sent to `host` by this store's lookups. */
  sentTo(host: string): boolean {
    return this.used.has(host.toLowerCase());
  }

  async set(host: string, token: string): Promise<void> {
    const h = normalizeHost(host);
    const t = token.trim();
    if (!h) throw new WebDiffusionError('INVALID_REQUEST', `"${host}" is not a host name.`, { details: { host } });
    if (!t || /\s/.test(t)) throw new WebDiffusionError('INVALID_REQUEST', 'An access token is one word without spaces.', { details: { host: h } });
    await set(h, t, this.db);
    this.used.delete(h);
  }

  async forget(host: string): Promise<void> {
    const h = host.toLowerCase();
    await del(h, this.db);
    this.used.delete(h);
  }

  /** The hosts tokens are stored for (never the tokens). */
  async hosts(): Promise<string[]> {
    return ((await keys(this.db)) as string[]).sort();
  }
}
