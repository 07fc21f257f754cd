/**
 * A folder the person picks, as a list of files with paths relative to it: from
 * `<input type=file webkitdirectory>` (every browser) or `showDirectoryPicker()` (where available).
 * The files stay Blobs on disk: they are handed to the worker, which reads them by slices.
 */
import { WebDiffusionError } from '../errors.js';
import type { LocalFile } from '../protocol.js';

export interface PickedFolder {
  name: string;
  files: LocalFile[];
}

/** Files of a webkitdirectory input: `webkitRelativePath` starts with the folder's own name, which is dropped. */
export function folderFromFileList(list: ArrayLike<File>): PickedFolder | null {
  const files = Array.from(list);
  if (files.length === 0) return null;
  const rel = files.map((f) => (f.webkitRelativePath || f.name).replace(/\\/g, '/'));
  const top = rel[0]!.includes('/') ? rel[0]!.slice(0, rel[0]!.indexOf('/')) : '';
  const allUnderTop = top !== '' && rel.every((p) => p.startsWith(`${top}/`));
  return {
    name: allUnderTop ? top : 'the chosen files',
    files: files.map((file, i) => ({ path: allUnderTop ? rel[i]!.slice(top.length + 1) : rel[i]!, file })),
  };
}

interface DirectoryHandleLike {
  kind: 'directory';
  name: string;
  values(): AsyncIterable<DirectoryHandleLike | FileHandleLike>;
}
interface FileHandleLike {
  kind: 'file';
  name: string;
  getFile(): Promise<File>;
}

export const hasDirectoryPicker = (): boolean => typeof (globalThis as { showDirectoryPicker?: unknown }).showDirectoryPicker === 'function';

/** Opens the browser's folder picker; null when the person cancels. */
export async function pickDirectory(): Promise<PickedFolder | null> {
  const picker = (globalThis as unknown as { showDirectoryPicker: (o?: { mode?: string; id?: string }) => Promise<DirectoryHandleLike> }).showDirectoryPicker;
  let dir: DirectoryHandleLike;
  try {
    dir = await picker({ mode: 'read', id: 'webdiffusion-models' });
  } catch (e) {
    if ((e as { name?: string }).name === 'AbortError') return null;
    throw e;
  }
  const files: LocalFile[] = [];
  const walk = async (d: DirectoryHandleLike, prefix: string): Promise<void> => {
    for await (const entry of d.values()) {
      if (entry.kind === 'file') files.push({ path: `${prefix}${entry.name}`, file: await entry.getFile() });
      else await walk(entry, `${prefix}${entry.name}/`);
    }
  };
  await walk(dir, '');
  return { name: dir.name, files };
}

/** The model id a pack folder's pack.json names; null when the folder holds no pack.json (an export). */
export async function packIdOf(folder: PickedFolder): Promise<string | null> {
  const manifest = folder.files.find((f) => f.path === 'pack.json');
  if (!manifest) return null;
  let id: unknown;
  try {
    id = (JSON.parse(await manifest.file.text()) as { id?: unknown }).id;
  } catch (e) {
    throw new WebDiffusionError('MODEL_INVALID', `pack.json in the folder ${folder.name} is not valid JSON.`, { details: { file: 'pack.json' }, cause: e });
  }
  if (typeof id !== 'string' || !id) throw new WebDiffusionError('MODEL_INVALID', `pack.json in the folder ${folder.name} names no model id.`, { details: { file: 'pack.json', field: 'id' } });
  return id;
}

/** What the folder holds, for the person: a pack, an export (model_index.json), or neither. */
export function folderKind(folder: PickedFolder): 'pack' | 'export' | null {
  if (folder.files.some((f) => f.path === 'pack.json')) return 'pack';
  if (folder.files.some((f) => f.path === 'model_index.json')) return 'export';
  return null;
}
