/**
 * A ConvertSource over a local folder (Node only: the CLI, tests and the benchmark). Reads tensors
 * by positioned reads, never whole external-data files.
 */
import { open, readFile, stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { WebDiffusionError } from '../errors.js';
import type { ConvertSource } from './sources.js';

export function folderSource(dir: string): ConvertSource {
  const root = resolve(dir);
  const full = (path: string): string => {
    const p = resolve(root, path);
    if (p !== root && !p.startsWith(root + sep)) throw new WebDiffusionError('MODEL_INVALID', `Path ${path} leaves the source folder.`, { details: { file: path } });
    return p;
  };
  const missing = (path: string, e: unknown): WebDiffusionError =>
    new WebDiffusionError('MODEL_FILE_MISSING', `Could not read ${full(path)}: ${e instanceof Error ? e.message : e}`, {
      hint: 'Check the source folder: is the export complete?',
      details: { file: path },
      cause: e,
    });
  return {
    description: root,
    async size(path) {
      try {
        const s = await stat(full(path));
        return s.isFile() ? s.size : null;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw missing(path, e);
      }
    },
    async read(path) {
      try {
        const b = await readFile(full(path));
        return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
      } catch (e) {
        throw missing(path, e);
      }
    },
    async readRange(path, offset, length) {
      let handle;
      try {
        handle = await open(full(path), 'r');
      } catch (e) {
        throw missing(path, e);
      }
      try {
        const out = new Uint8Array(length);
        let done = 0;
        while (done < length) {
          const { bytesRead } = await handle.read(out, done, length - done, offset + done);
          if (bytesRead === 0) {
            throw new WebDiffusionError('MODEL_FILE_MISSING', `${full(path)} ends before byte ${offset + length} (a tensor needs bytes ${offset}..${offset + length}).`, {
              hint: 'The external-data file is truncated or does not belong to this graph.',
              details: { file: path, offset, length },
            });
          }
          done += bytesRead;
        }
        return out;
      } finally {
        await handle.close();
      }
    },
  };
}
