/**
 * Where the converter reads an ONNX export from: a folder (folder-source.ts, Node only) or an HTTP(S)
 * base URL read lazily by byte range (this file; Node 20 and browser workers). Large external-data
 * files are never read whole: the converter asks for one tensor's bytes at a time.
 */
import { WebDiffusionError } from '../errors.js';
import type { ModelSource } from '../models/model-source.js';

export interface ConvertSource {
  /** Human-readable origin for messages. */
  readonly description: string;
  /** Byte size of `path` (relative to the source root), or null when the file does not exist. */
  size(path: string): Promise<number | null>;
  /** The whole file (graphs, configs, tokenizers: small files). MODEL_FILE_MISSING when absent. */
  read(path: string): Promise<Uint8Array>;
  /** Exactly `length` bytes of `path` from `offset`. MODEL_FILE_MISSING when absent or too short. */
  readRange(path: string, offset: number, length: number): Promise<Uint8Array>;
}

/** A ConvertSource seen as the pipeline's ModelSource (for readSd3Config and friends). */
export function asModelSource(source: ConvertSource, pathMap: (path: string) => string = (p) => p): ModelSource {
  return { description: source.description, readBytes: (path) => source.read(pathMap(path)) };
}

export interface HttpSourceOptions {
  fetch?: typeof fetch;
  /** Retries after the first attempt on network errors, HTTP 5xx and 429 (default 4). */
  retries?: number;
  /** First backoff delay; doubles on each retry (default 500 ms). */
  backoffMs?: number;
  /** Extra request headers (e.g. an Authorization header for gated repositories). */
  headers?: Record<string, string>;
}

class RetryableError extends Error {}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Parses `bytes a-b/total` (total may be `*`). */
function parseContentRange(value: string | null): { start: number; end: number; total: number | null } | null {
  const m = value?.match(/^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i);
  if (!m) return null;
  return { start: Number(m[1]), end: Number(m[2]), total: m[3] === '*' ? null : Number(m[3]) };
}

/**
 * Files under an HTTP(S) base URL (e.g. a hub repository's `…/resolve/main/`). Sizes come from HEAD
 * (or a one-byte ranged GET when HEAD is refused); tensor bytes from `Range: bytes=a-b` requests,
 * which must be answered 206 with a matching Content-Range. Network errors, 5xx and 429 are retried
 * with exponential backoff.
 */
export function httpSource(baseUrl: string, options: HttpSourceOptions = {}): ConvertSource {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  const fetchFn = options.fetch ?? ((...a: Parameters<typeof fetch>) => fetch(...a));
  const retries = options.retries ?? 4;
  const backoffMs = options.backoffMs ?? 500;
  const urlOf = (path: string): string => new URL(path.split('/').map(encodeURIComponent).join('/'), base).href;

  /** Runs `attempt` with retries; `attempt` throws RetryableError for transient failures. */
  async function withRetries<T>(url: string, path: string, attempt: () => Promise<T>): Promise<T> {
    let last: unknown;
    for (let i = 0; i <= retries; i++) {
      if (i > 0) await sleep(backoffMs * 2 ** (i - 1));
      try {
        return await attempt();
      } catch (e) {
        if (!(e instanceof RetryableError)) throw e;
        last = e;
      }
    }
    throw new WebDiffusionError('MODEL_FILE_MISSING', `Could not read ${url} after ${retries + 1} attempts: ${last instanceof Error ? last.message : last}`, {
      hint: 'Check the network connection and that the model is hosted at this address.',
      details: { file: path, url },
      cause: last,
    });
  }

  async function request(url: string, init: RequestInit): Promise<Response> {
    let res: Response;
    try {
      res = await fetchFn(url, { ...init, headers: { ...options.headers, ...(init.headers as Record<string, string> | undefined) } });
    } catch (e) {
      throw new RetryableError(`network error: ${e instanceof Error ? e.message : e}`);
    }
    if (res.status >= 500 || res.status === 429) {
      await res.body?.cancel().catch(() => undefined);
      throw new RetryableError(`HTTP ${res.status}`);
    }
    return res;
  }

  async function body(res: Response): Promise<Uint8Array> {
    try {
      return new Uint8Array(await res.arrayBuffer());
    } catch (e) {
      throw new RetryableError(`connection lost while reading the body: ${e instanceof Error ? e.message : e}`);
    }
  }

  const missing = (path: string, url: string, status: number): WebDiffusionError =>
    new WebDiffusionError('MODEL_FILE_MISSING', `${url} answered HTTP ${status}.`, {
      hint: status === 404 ? 'The source has no such file: check the address and the layout of the export.' : 'Check access rights to the source.',
      details: { file: path, url, status },
    });

  return {
    description: base,
    async size(path) {
      const url = urlOf(path);
      return withRetries(url, path, async () => {
        const head = await request(url, { method: 'HEAD' });
        if (head.status === 404) return null;
        const len = head.headers.get('content-length');
        if (head.ok && len !== null && head.headers.get('content-encoding') === null) return Number(len);
        // HEAD refused or without a usable length: ask for one byte and read the total.
        const res = await request(url, { headers: { Range: 'bytes=0-0' } });
        if (res.status === 404) return null;
        if (res.status === 416) return 0;
        if (res.status === 206) {
          await res.body?.cancel().catch(() => undefined);
          const cr = parseContentRange(res.headers.get('content-range'));
          if (cr?.total != null) return cr.total;
        }
        if (res.ok) return (await body(res)).byteLength;
        throw missing(path, url, res.status);
      });
    },
    async read(path) {
      const url = urlOf(path);
      return withRetries(url, path, async () => {
        const res = await request(url, {});
        if (!res.ok) throw missing(path, url, res.status);
        return body(res);
      });
    },
    async readRange(path, offset, length) {
      if (length === 0) return new Uint8Array(0);
      const url = urlOf(path);
      const end = offset + length - 1;
      return withRetries(url, path, async () => {
        const res = await request(url, { headers: { Range: `bytes=${offset}-${end}` } });
        if (res.status === 206) {
          const cr = parseContentRange(res.headers.get('content-range'));
          if (!cr || cr.start !== offset || cr.end !== end) {
            await res.body?.cancel().catch(() => undefined);
            throw new WebDiffusionError(
              'MODEL_FILE_MISSING',
              `${url} answered bytes ${res.headers.get('content-range') ?? '(no Content-Range)'} to a request for bytes ${offset}-${end}.`,
              { hint: 'The server does not honour byte ranges correctly; download the export and convert from a folder.', details: { file: path, url, offset, length } },
            );
          }
          const data = await body(res);
          if (data.byteLength !== length) throw new RetryableError(`short body: ${data.byteLength} of ${length} bytes`);
          return data;
        }
        if (res.status === 416) {
          throw new WebDiffusionError('MODEL_FILE_MISSING', `${path} is shorter than ${offset + length} bytes (${url} answered 416).`, {
            hint: 'The external-data file is truncated or does not belong to this graph.',
            details: { file: path, url, offset, length },
          });
        }
        await res.body?.cancel().catch(() => undefined);
        if (res.ok) {
          throw new WebDiffusionError('MODEL_FILE_MISSING', `${url} ignored the byte-range request (HTTP ${res.status} instead of 206 Partial Content).`, {
            hint: 'The converter reads weights tensor by tensor and needs a server that supports HTTP Range requests; download the export and convert from a folder instead.',
            details: { file: path, url, status: res.status, reason: 'range-unsupported' },
          });
        }
        throw missing(path, url, res.status);
      });
    },
  };
}
