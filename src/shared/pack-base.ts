/**
 * Where the page fetches model packs from. The registry's relative `path` (served with the app) is
 * the default; a site that hosts its packs elsewhere sets a pack base: at build time with
 * `VITE_PACK_BASE`, at run time with the URL parameter `?packBase=<url>` (or a setting, passed as
 * `setting`). With a pack base, a model's pack is `<packBase><model id>/` (e.g.
 * `https://cdn.example/packs/tiny-sd3/pack.json`). The pack host must allow CORS and Range and send
 * `Cross-Origin-Resource-Policy: cross-origin` (the app is cross-origin isolated). Pure: no DOM.
 */

/** A usable pack base (http/https, absolute or relative to `pageUrl`), ending with "/"; null when absent or unusable. */
export function normalizePackBase(value: string | null | undefined, pageUrl: string): string | null {
  const v = value?.trim();
  if (!v) return null;
  let url: URL;
  try {
    url = new URL(v, pageUrl);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  url.search = '';
  url.hash = '';
  const href = url.href;
  return href.endsWith('/') ? href : `${href}/`;
}

/** The `packBase` URL parameter of a page address, normalized; null when absent or unusable. */
export function packBaseFromUrl(pageUrl: string): string | null {
  return normalizePackBase(new URL(pageUrl).searchParams.get('packBase'), pageUrl);
}

export interface PackBaseSources {
  /** location.href */
  pageUrl: string;
  /** document.baseURI (where the app's own files are) */
  baseUri: string;
  /** A saved setting (highest priority after the URL parameter). */
  setting?: string | null;
  /** import.meta.env.VITE_PACK_BASE */
  buildBase?: string | null;
}

/**
 * The pack folder URL for a registry entry: ?packBase= first, then the setting, then the build-time
 * base, then the entry's own path relative to the app. null when the entry has no pack (not downloadable).
 */
export function packUrlFor(entry: { id: string; path: string | null }, sources: PackBaseSources): string | null {
  const base = packBaseFromUrl(sources.pageUrl) ?? normalizePackBase(sources.setting, sources.pageUrl) ?? normalizePackBase(sources.buildBase, sources.baseUri);
  if (base) return new URL(`${encodeURIComponent(entry.id)}/`, base).href;
  if (!entry.path) return null;
  return new URL(entry.path, sources.baseUri).href;
}
