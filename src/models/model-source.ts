/**
 * Where model files come from: a two-method interface (transformers.js' cache habit), so the same
 * loading code reads from HTTP here, from the filesystem in Node, and from IndexedDB later.
 */
import { WebDiffusionError } from '../errors.js';

export interface ModelSource {
  /** Human-readable origin for messages ("http://…/models/tiny-sd3/"). */
  readonly description: string;
  /** Bytes of `path` (relative to the model folder); MODEL_FILE_MISSING when absent. */
  readBytes(path: string): Promise<Uint8Array>;
}

export async function readJson<T = unknown>(source: ModelSource, path: string): Promise<T> {
  const bytes = await source.readBytes(path);
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as T;
  } catch (e) {
    throw new WebDiffusionError('MODEL_INVALID', `${path} in ${source.description} is not valid JSON.`, { details: { file: path }, cause: e });
  }
}

/** Files under an HTTP(S) base URL (must end with "/"). */
export function httpModelSource(baseUrl: string, fetchFn: typeof fetch = (...a) => fetch(...a)): ModelSource {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  return {
    description: base,
    async readBytes(path) {
      const url = new URL(path, base).href;
      let res: Response;
      try {
        res = await fetchFn(url);
      } catch (e) {
        throw new WebDiffusionError('MODEL_FILE_MISSING', `Could not fetch ${url}: ${e instanceof Error ? e.message : e}`, {
          hint: 'Check the network connection and that the model is hosted at this address.',
          details: { file: path, url },
          cause: e,
        });
      }
      if (!res.ok) {
        throw new WebDiffusionError('MODEL_FILE_MISSING', `${url} answered HTTP ${res.status}.`, {
          hint: res.status === 404 ? 'The model files are not where the app expects them. For the demo model, run `npm run fixtures`.' : 'Try again later.',
          details: { file: path, url, status: res.status },
        });
      }
      return new Uint8Array(await res.arrayBuffer());
    },
  };
}
