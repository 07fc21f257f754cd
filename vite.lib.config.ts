/**
 * The library build (`npm run build:lib` → dist-lib/): ES modules for pages that bring their own UI
 * (`index.js`: createGenerator) and the one-script-tag custom element (`sd-generator.js`). The
 * generator worker and onnxruntime's WebAssembly are separate files under assets/, found relative
 * to the modules (import.meta.url), so the folder works from any path of a static host. Types come
 * from `tsc -p tsconfig.lib.json` (dist-lib/types); dist-lib/package.json makes the folder a package.
 */
import { readFileSync } from 'node:fs';
import { defineConfig, type Plugin } from 'vite';

/**
 * Library mode inlines every asset as base64, which would put onnxruntime's 20+ MB .wasm inside the
 * worker. Its `new URL("ort-wasm….wasm", import.meta.url)` gets Vite's `?no-inline` query instead,
 * so the file is emitted next to the worker like in the app build.
 */
function emitOrtWasm(): Plugin {
  return {
    name: 'webdiffusion:emit-ort-wasm',
    enforce: 'pre',
    transform(code, id) {
      if (!/onnxruntime-web[\\/]dist[\\/].*\.mjs$/.test(id)) return null;
      const out = code.replace(/new URL\((["'`])(ort-wasm[\w.-]*\.wasm)\1,\s*import\.meta\.url\)/g, 'new URL($1$2?no-inline$1,import.meta.url)');
      return out === code ? null : { code: out, map: null };
    },
  };
}

/** dist-lib/package.json: entry points, types, and which modules have side effects (the element's define). */
function packageJson(): Plugin {
  const app = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string; description: string };
  return {
    name: 'webdiffusion:package-json',
    generateBundle() {
      const pkg = {
        name: 'webdiffusion',
        version: app.version,
        description: app.description,
        type: 'module',
        main: './index.js',
        module: './index.js',
        types: './types/lib/index.d.ts',
        exports: {
          '.': { types: './types/lib/index.d.ts', default: './index.js' },
          './sd-generator': { types: './types/embed/sd-generator.d.ts', default: './sd-generator.js' },
          './sd-generator.js': { types: './types/embed/sd-generator.d.ts', default: './sd-generator.js' },
        },
        sideEffects: ['./sd-generator.js'],
      };
      this.emitFile({ type: 'asset', fileName: 'package.json', source: `${JSON.stringify(pkg, null, 2)}\n` });
    },
  };
}

export default defineConfig({
  base: './',
  publicDir: false,
  worker: { format: 'es', plugins: () => [emitOrtWasm()] },
  plugins: [emitOrtWasm(), packageJson()],
  build: {
    outDir: 'dist-lib',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 2048,
    lib: {
      entry: { index: 'src/lib/index.ts', 'sd-generator': 'src/embed/sd-generator.ts' },
      formats: ['es'],
    },
  },
});
