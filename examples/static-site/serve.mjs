#!/usr/bin/env node
// A plain static server for the example site, with NO special headers (no COOP/COEP): what a
// static host such as GitHub Pages gives. It serves the site as it would be deployed:
//   /               examples/static-site/ (the pages)
//   /webdiffusion/  the library build (dist-lib/, made by `npm run build:lib`)
//   /models/        the model packs (public/models/, made by `npm run fixtures`)
// Usage: node examples/static-site/serve.mjs [--port 8080] [--host 127.0.0.1] [--lib dist-lib] [--models public/models]
// --port 0 picks a free port; the first line printed is "serving http://host:port/".
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sirv from 'sirv';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};
const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const port = Number(opt('--port', process.env.PORT ?? '8080'));
const host = opt('--host', '127.0.0.1');
const lib = opt('--lib', join(repo, 'dist-lib'));
const models = opt('--models', join(repo, 'public', 'models'));
if (!existsSync(join(lib, 'sd-generator.js'))) {
  console.error(`serve: ${lib}/sd-generator.js not found. Run \`npm run build:lib\` first.`);
  process.exit(1);
}
if (!existsSync(models)) console.error(`serve: ${models} not found; run \`npm run fixtures\` for the demo model.`);

const mounts = [
  ['/webdiffusion/', sirv(lib, { dev: false, etag: true })],
  ['/models/', sirv(models, { dev: false, etag: true })],
  ['/', sirv(here, { dev: false, etag: true })],
];
const server = createServer((req, res) => {
  const url = req.url ?? '/';
  const mount = mounts.find(([prefix]) => url.startsWith(prefix));
  const notFound = () => {
    res.statusCode = 404;
    res.end('not found');
  };
  if (!mount) return notFound();
  const [prefix, serve] = mount;
  req.url = `/${url.slice(prefix.length)}`;
  serve(req, res, notFound);
});
server.listen(port, host, () => {
  const address = server.address();
  console.log(`serving http://${host}:${typeof address === 'object' && address ? address.port : port}/ (no COOP/COEP headers)`);
});
