/**
 * A test server for model packs (Node only): serves a folder or in-memory files with byte ranges,
 * CORS (any origin, Range allowed, Content-Range/Content-Length/Accept-Ranges exposed) and
 * `Cross-Origin-Resource-Policy: cross-origin` (so a cross-origin-isolated app may fetch it), and
 * counts requests and bytes per file. Knobs make it misbehave: drop the connection at given byte
 * offsets, ignore Range, serve a corrupt byte once or always, throttle, require an access token
 * (401 without `Authorization: Bearer <token>`, as a gated hub repository does), redirect a file
 * to another server (as a hub redirects to its CDN).
 * Used by the downloader's unit tests, the weight-store end-to-end tests and the store benchmark.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve, sep } from 'node:path';

export interface RequestLog {
  path: string;
  method: string;
  range: string | null;
  status: number;
  /** Body bytes actually sent. */
  bytes: number;
  /** The Authorization header the request carried (null: none). */
  authorization: string | null;
}

export interface PackServerKnobs {
  /** Per path: absolute byte offsets at which the connection is dropped (each used once, in order). */
  abortAt: Map<string, number[]>;
  /** Answer every GET with 200 and the whole file, whatever the Range header says. */
  ignoreRange: boolean;
  /** Per path: flip the byte at `offset` in the next `times` responses that cover it (Infinity: always). */
  corrupt: Map<string, { offset: number; times: number }>;
  /** Bytes per second per response (0: unthrottled). */
  throttleBytesPerSec: number;
  /** Answer 401 (with WWW-Authenticate: Bearer) to any request without `Authorization: Bearer <this>`; null: open. */
  requireToken: string | null;
  /** Per path: answer 302 with this Location instead of the file. */
  redirect: Map<string, string>;
}

export interface PackServer {
  /** Base URL, ending with "/". */
  url: string;
  port: number;
  knobs: PackServerKnobs;
  log: RequestLog[];
  /** GET requests (any status) for `path`, or for every path but pack.json when omitted. */
  requests(path?: string): number;
  /** Body bytes sent for `path`, or in total. */
  bytesSent(path?: string): number;
  resetStats(): void;
  close(): Promise<void>;
}

export interface PackServerOptions {
  /** A folder to serve… */
  root?: string;
  /** …or files in memory (path → bytes). */
  files?: Map<string, Uint8Array>;
  /** 0 (default): a random free port. */
  port?: number;
  host?: string;
}

const CORS_HEADERS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, HEAD, OPTIONS',
  'Access-Control-Allow-Headers': 'Range, Authorization, Cache-Control',
  'Access-Control-Expose-Headers': 'Content-Range, Content-Length, Accept-Ranges, ETag',
  'Access-Control-Max-Age': '600',
  'Cross-Origin-Resource-Policy': 'cross-origin',
  'Cache-Control': 'no-store',
};

/** Parses a single `bytes=a-b`, `bytes=a-` or `bytes=-n` range against `size`; null: unsatisfiable, undefined: none. */
function parseRange(header: string | undefined, size: number): { start: number; end: number } | null | undefined {
  if (!header) return undefined;
  const m = header.match(/^bytes=(\d*)-(\d*)$/);
  if (!m) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const n = Number(m[2]);
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return null;
  return { start, end };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startPackServer(options: PackServerOptions): Promise<PackServer> {
  const root = options.root ? resolve(options.root) : null;
  const mem = options.files ?? null;
  const knobs: PackServerKnobs = { abortAt: new Map(), ignoreRange: false, corrupt: new Map(), throttleBytesPerSec: 0, requireToken: null, redirect: new Map() };
  const log: RequestLog[] = [];

  async function sizeOf(path: string): Promise<number | null> {
    if (mem) return mem.get(path)?.byteLength ?? null;
    const full = resolve(root!, path);
    if (!full.startsWith(root! + sep)) return null;
    try {
      const s = await stat(full);
      return s.isFile() ? s.size : null;
    } catch {
      return null;
    }
  }

  async function* body(path: string, start: number, end: number): AsyncIterable<Uint8Array> {
    if (mem) {
      const data = mem.get(path)!;
      for (let at = start; at <= end; at += 64 * 1024) yield data.subarray(at, Math.min(end + 1, at + 64 * 1024));
      return;
    }
    for await (const b of createReadStream(join(root!, path), { start, end, highWaterMark: 256 * 1024 })) {
      const buf = b as Buffer;
      yield new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = decodeURIComponent(url.pathname.replace(/^\/+/, ''));
    for (const [k, v] of Object.entries(CORS_HEADERS)) res.setHeader(k, v);
    const entry: RequestLog = {
      path,
      method: req.method ?? 'GET',
      range: (req.headers.range as string | undefined) ?? null,
      status: 0,
      bytes: 0,
      authorization: req.headers.authorization ?? null,
    };
    if (req.method === 'OPTIONS') {
      res.statusCode = 204;
      res.end();
      return;
    }
    log.push(entry);
    if (knobs.requireToken !== null && entry.authorization !== `Bearer ${knobs.requireToken}`) {
      entry.status = res.statusCode = 401;
      res.setHeader('WWW-Authenticate', 'Bearer realm="pack-server"');
      res.end('access to this repository is restricted: a token is required');
      return;
    }
    const location = knobs.redirect.get(path);
    if (location) {
      entry.status = res.statusCode = 302;
      res.setHeader('Location', location);
      res.end();
      return;
    }
    const size = await sizeOf(path);
    if (size === null) {
      entry.status = res.statusCode = 404;
      res.end('not found');
      return;
    }
    const range = knobs.ignoreRange ? undefined : parseRange(req.headers.range as string | undefined, size);
    res.setHeader('Accept-Ranges', knobs.ignoreRange ? 'none' : 'bytes');
    res.setHeader('Content-Type', path.endsWith('.json') ? 'application/json' : 'application/octet-stream');
    if (range === null) {
      entry.status = res.statusCode = 416;
      res.setHeader('Content-Range', `bytes */${size}`);
      res.end();
      return;
    }
    const start = range?.start ?? 0;
    const end = range?.end ?? size - 1;
    entry.status = res.statusCode = range ? 206 : 200;
    if (range) res.setHeader('Content-Range', `bytes ${start}-${end}/${size}`);
    res.setHeader('Content-Length', String(end - start + 1));
    if (req.method === 'HEAD' || size === 0) {
      res.end();
      return;
    }
    const aborts = knobs.abortAt.get(path) ?? [];
    const abortIdx = aborts.findIndex((o) => o > start && o <= end);
    const abortAt = abortIdx >= 0 ? aborts[abortIdx]! : null;
    if (abortIdx >= 0) aborts.splice(abortIdx, 1);
    const bad = knobs.corrupt.get(path);
    let corruptThis = false;
    if (bad && bad.times > 0 && bad.offset >= start && bad.offset <= end) {
      corruptThis = true;
      bad.times--;
    }
    let pos = start;
    const t0 = Date.now();
    for await (const piece0 of body(path, start, end)) {
      let piece = piece0;
      if (corruptThis && bad!.offset >= pos && bad!.offset < pos + piece.byteLength) {
        piece = piece.slice();
        piece[bad!.offset - pos] = piece[bad!.offset - pos]! ^ 0xff;
      }
      if (abortAt !== null && pos + piece.byteLength >= abortAt) {
        const n = abortAt - pos;
        if (n > 0) {
          await new Promise<void>((r) => res.write(piece.subarray(0, n), () => r()));
          entry.bytes += n;
        }
        // Let the bytes leave before the reset, then drop the connection mid-body.
        await sleep(20);
        res.socket?.destroy();
        return;
      }
      const ok = res.write(piece);
      entry.bytes += piece.byteLength;
      pos += piece.byteLength;
      if (!ok) await new Promise<void>((r) => res.once('drain', () => r()));
      if (res.destroyed) return;
      if (knobs.throttleBytesPerSec > 0) {
        const due = t0 + (1000 * (pos - start)) / knobs.throttleBytesPerSec;
        const wait = due - Date.now();
        if (wait > 0) await sleep(wait);
      }
    }
    res.end();
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      if (!res.headersSent) res.statusCode = 500;
      res.end(String(e));
    });
  });
  await new Promise<void>((r) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  const isWeight = (p: string) => p !== 'pack.json';
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}/`,
    port,
    knobs,
    log,
    requests: (path) => log.filter((l) => l.method === 'GET' && (path === undefined ? isWeight(l.path) : l.path === path)).length,
    bytesSent: (path) => log.filter((l) => path === undefined || l.path === path).reduce((s, l) => s + l.bytes, 0),
    resetStats: () => void (log.length = 0),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
