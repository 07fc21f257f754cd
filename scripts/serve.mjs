#!/usr/bin/env node
// Serves the built app (dist/) on 127.0.0.1 with the cross-origin isolation headers that
// multi-threaded WebAssembly needs. Usage: node scripts/serve.mjs [--port 4173] [--dir dist] [--no-isolation]
import { createServer } from 'node:http';
import { existsSync } from 'node:fs';
import sirv from 'sirv';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
};
const port = Number(opt('--port', process.env.PORT ?? '4173'));
const host = opt('--host', '127.0.0.1');
const dir = opt('--dir', 'dist');
const isolate = !args.includes('--no-isolation');
if (!existsSync(`${dir}/index.html`)) {
  console.error(`serve: ${dir}/index.html not found. Run \`npm run build\` first (npm start does it for you).`);
  process.exit(1);
}
const assets = sirv(dir, {
  dev: false,
  etag: true,
  setHeaders(res) {
    if (isolate) {
      res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
      res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    }
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  },
});
createServer((req, res) =>
  assets(req, res, () => {
    res.statusCode = 404;
    res.end('not found');
  }),
).listen(port, host, () => {
  console.log(`webdiffusion: serving ${dir}/ at http://${host}:${port}/${isolate ? ' (cross-origin isolated)' : ''}`);
});
