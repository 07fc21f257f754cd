/**
 * A ConvertSource over files a person picked in the browser (a folder chosen with
 * `<input type=file webkitdirectory>` or `showDirectoryPicker`), given as paths relative to the
 * folder and their Blobs. Tensors are read with `Blob.slice`, so a multi-GB external-data file is
 * never read whole. No node: imports and no DOM beyond Blob: runs in the worker.
 */
import { WebDiffusionError } from '../errors.js';
import type { LocalFile } from '../protocol.js';
import type { ConvertSource } from './sources.js';

export type { LocalFile };

/** Index of local files by path (throws on paths that leave the folder). */
export function indexLocalFiles(files: readonly LocalFile[]): Map<string, Blob> {
  const map = new Map<string, Blob>();
  for (const f of files) {
    if (f.path.split('/').some((part) => part === '..')) {
      throw new WebDiffusionError('MODEL_INVALID', `Path ${f.path} leaves the chosen folder.`, { details: { file: f.path } });
    }
    map.set(f.path, f.file);
  }
  return map;
}

export function fileListSource(files: readonly LocalFile[], description = 'the chosen folder'): ConvertSource {
  const byPath = indexLocalFiles(files);
  const blob = (path: string): Blob => {
    const b = byPath.get(path);
    if (!b) {
      throw new WebDiffusionError('MODEL_FILE_MISSING', `${description} has no ${path}.`, {
        hint: 'Choose the folder of a complete export (the one with model_index.json).',
        details: { file: path },
      });
    }
    return b;
  };
  const bytesOf = async (path: string, b: Blob): Promise<Uint8Array> => {
    try {
      return new Uint8Array(await b.arrayBuffer());
    } catch (e) {
      throw new WebDiffusionError('MODEL_FILE_MISSING', `Could not read ${path} from ${description}: ${e instanceof Error ? e.message : String(e)}`, {
        hint: 'The file changed or was removed after the folder was chosen; choose the folder again.',
        details: { file: path },
        cause: e,
      });
    }
  };
  return {
    description,
    async size(path) {
      return byPath.get(path)?.size ?? null;
    },
    async read(path) {
      return bytesOf(path, blob(path));
    },
    async readRange(path, offset, length) {
      if (length === 0) return new Uint8Array(0);
      const b = blob(path);
      if (offset < 0 || offset + length > b.size) {
        throw new WebDiffusionError('MODEL_FILE_MISSING', `${path} is ${b.size} bytes; a tensor needs bytes ${offset}..${offset + length}.`, {
          hint: 'The external-data file is truncated or does not belong to this graph.',
          details: { file: path, offset, length },
        });
      }
      return bytesOf(path, b.slice(offset, offset + length));
    },
  };
}

/**
 * `fetch` over the local files under `baseUrl`, for installing a pack folder through the
 * downloader (the same verification, chunking, progress, resume and cancel as a download).
 * Answers 404 for a missing file and 206 with Content-Range for `Range: bytes=a-`.
 */
export function fileListFetch(files: readonly LocalFile[], baseUrl: string): typeof fetch {
  const byPath = indexLocalFiles(files);
  const base = new URL(baseUrl);
  return async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    init?.signal?.throwIfAborted();
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const path = url.href.startsWith(base.href) ? decodeURIComponent(url.href.slice(base.href.length).split(/[?#]/)[0]!) : null;
    const b = path === null ? undefined : byPath.get(path);
    if (!b) return new Response('not found', { status: 404 });
    const range = new Headers(init?.headers).get('range')?.match(/^bytes=(\d+)-$/);
    if (range) {
      const start = Number(range[1]);
      if (start >= b.size) return new Response(null, { status: 416, headers: { 'Content-Range': `bytes */${b.size}` } });
      return new Response(b.slice(start), { status: 206, headers: { 'Content-Range': `bytes ${start}-${b.size - 1}/${b.size}`, 'Content-Length': String(b.size - start) } });
    }
    return new Response(b, { status: 200, headers: { 'Content-Length': String(b.size) } });
  };
}
