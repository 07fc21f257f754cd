/**
 * Model files from a local folder (Node only: the native reference, the benchmark, the converter).
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { WebDiffusionError } from '../errors.js';
import type { ModelSource } from './model-source.js';

export function fsModelSource(dir: string): ModelSource {
  const root = resolve(dir);
  return {
    description: root,
    async readBytes(path) {
      const full = resolve(root, path);
      if (!full.startsWith(root)) throw new WebDiffusionError('MODEL_INVALID', `Path ${path} leaves the model folder.`);
      try {
        const b = await readFile(full);
        return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
      } catch (e) {
        throw new WebDiffusionError('MODEL_FILE_MISSING', `Could not read ${full}.`, {
          hint: 'For the demo model, run `npm run fixtures`.',
          details: { file: path },
          cause: e,
        });
      }
    },
  };
}
