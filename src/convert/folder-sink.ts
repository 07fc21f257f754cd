/**
 * A PackSink writing into a local folder (Node only). Each file is streamed into `<path>.partial`
 * and renamed into place when complete.
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import { WebDiffusionError } from '../errors.js';
import { hashThrough, type PackSink } from './pack-sink.js';

export function folderSink(dir: string): PackSink {
  const root = resolve(dir);
  const full = (path: string): string => {
    const p = resolve(root, path);
    if (!p.startsWith(root + sep)) throw new WebDiffusionError('INVALID_REQUEST', `Path ${path} leaves the output folder.`, { details: { file: path } });
    return p;
  };
  return {
    description: root,
    async size(path) {
      try {
        const s = await stat(full(path));
        return s.isFile() ? s.size : null;
      } catch {
        return null;
      }
    },
    async read(path) {
      try {
        const b = await readFile(full(path));
        return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
      } catch {
        return null;
      }
    },
    async *readStream(path) {
      for await (const chunk of createReadStream(full(path), { highWaterMark: 1 << 20 })) {
        const b = chunk as Buffer;
        yield new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
      }
    },
    async write(path, data) {
      const target = full(path);
      const partial = `${target}.partial`;
      await mkdir(dirname(target), { recursive: true });
      const handle = await open(partial, 'w');
      let result;
      try {
        result = await hashThrough(data, async (chunk) => {
          let done = 0;
          while (done < chunk.byteLength) done += (await handle.write(chunk, done, chunk.byteLength - done)).bytesWritten;
        });
      } catch (e) {
        await handle.close().catch(() => undefined);
        await rm(partial, { force: true });
        throw e;
      }
      await handle.close();
      await rename(partial, target);
      return result;
    },
    async remove(path) {
      await rm(full(path), { force: true });
    },
  };
}
