/**
 * The thread boundary, checked on the source: the page's import graph (static, value imports)
 * never reaches onnxruntime, the runtime or the engine; only the worker entry does.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

function valueImports(file: string): string[] {
  const src = readFileSync(file, 'utf8');
  const specs: string[] = [];
  for (const m of src.matchAll(/^\s*import\s+(?!type\b)([^'"]*?)\s*from\s*['"]([^'"]+)['"]/gm)) specs.push(m[2]!);
  for (const m of src.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm)) specs.push(m[1]!);
  for (const m of src.matchAll(/^\s*export\s+(?!type\b)[^'"]*?from\s*['"]([^'"]+)['"]/gm)) specs.push(m[1]!);
  return specs;
}

function reachable(entry: string): Set<string> {
  const seen = new Set<string>();
  const stack = [resolve(entry)];
  while (stack.length) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    if (!file.endsWith('.ts')) continue;
    for (const spec of valueImports(file)) {
      if (spec.startsWith('.')) stack.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else seen.add(`pkg:${spec}`);
    }
  }
  return seen;
}

describe('thread boundary', () => {
  it('the page never imports onnxruntime, the runtime or the engine', () => {
    const page = [...reachable('src/app/main.ts')];
    expect(page.filter((f) => /onnxruntime|[\\/]src[\\/](runtime|engine|diffusion|text)[\\/]/.test(f))).toEqual([]);
  });
  it('the library and the embeddable element never import onnxruntime, the runtime or the engine', () => {
    for (const entry of ['src/lib/index.ts', 'src/embed/sd-generator.ts']) {
      const page = [...reachable(entry)];
      expect(page.filter((f) => /onnxruntime|[\\/]src[\\/](runtime|engine|diffusion|text|storage|convert)[\\/]/.test(f))).toEqual([]);
      // They do reach the page's client of the worker (so the check above looked at the real graph).
      expect(page.some((f) => f.endsWith('generator-client.ts'))).toBe(true);
    }
  });
  it('src/app is the page alone: the library and the element import nothing from it', () => {
    for (const entry of ['src/lib/index.ts', 'src/embed/sd-generator.ts']) {
      const files = [...reachable(entry)].filter((f) => /[\\/]src[\\/]app[\\/]/.test(f));
      expect(files).toEqual([]);
    }
  });
  it('the worker entry does reach onnxruntime-web (through src/runtime/ort-web.ts only)', () => {
    const worker = [...reachable('workers/generator.worker.ts')];
    expect(worker).toContain('pkg:onnxruntime-web');
    const importers = worker.filter((f) => f.endsWith('.ts') && valueImports(f).includes('onnxruntime-web'));
    expect(importers.map((f) => f.replace(/.*[\\/]src[\\/]/, 'src/'))).toEqual(['src/runtime/ort-web.ts']);
  });
});
