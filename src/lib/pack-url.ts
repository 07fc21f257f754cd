/**
 * Where a model's pack is fetched from when the library or the element installs it: `<base><model id>/`
 * with a pack base (as the app's `?packBase=`), else the registry's own path, relative to the page.
 * Pure.
 */
import { normalizePackBase } from '../shared/pack-base.js';
import { WebDiffusionError } from '../errors.js';
import type { ModelEntry } from '../models/registry.js';

/**
 * The pack folder URL of `entry` (ends with "/"); null when no base is given and the registry has no
 * path for it. A base that is given but is not an http(s) URL is an INVALID_REQUEST.
 */
export function packFolderUrl(entry: Pick<ModelEntry, 'id' | 'path'>, baseUrl: string | null | undefined, pageUrl: string): string | null {
  if (baseUrl !== undefined && baseUrl !== null && baseUrl.trim() !== '') {
    const base = normalizePackBase(baseUrl, pageUrl);
    if (!base) {
      throw new WebDiffusionError('INVALID_REQUEST', `The pack base “${baseUrl}” is not an http(s) URL.`, {
        hint: 'Give the folder that holds the model packs, e.g. "models/" or "https://cdn.example/packs/".',
        details: { field: 'baseUrl', value: baseUrl },
      });
    }
    return new URL(`${encodeURIComponent(entry.id)}/`, base).href;
  }
  if (!entry.path) return null;
  return new URL(entry.path, pageUrl).href;
}
