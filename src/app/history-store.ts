/**
 * The history of generated images, kept in IndexedDB (idb-keyval, its own database) so it survives
 * reloads and browser restarts: the PNG with its metadata, a thumbnail and the parameters.
 */
import { clear, createStore, del, set, values, type UseStore } from 'idb-keyval';
import type { BackendKind } from '../protocol.js';
import type { ImageParams } from '../shared/params.js';

export interface HistoryEntry {
  /** Sortable: creation time in base 36, then a counter. */
  id: string;
  createdAt: number;
  params: ImageParams;
  backend: BackendKind;
  totalMs: number;
  /** The PNG as downloaded, with its "parameters" chunk. */
  png: Blob;
  thumb: Blob;
}

let store: UseStore | null = null;
// Opened on first use, so a page where IndexedDB is blocked still starts.
const db = (): UseStore => (store ??= createStore('webdiffusion-history', 'images'));

let counter = 0;
export const newHistoryId = (): string => `${Date.now().toString(36).padStart(9, '0')}-${(++counter).toString(36).padStart(4, '0')}`;

export async function addEntry(entry: HistoryEntry): Promise<void> {
  await set(entry.id, entry, db());
}

/** Every entry, newest first. */
export async function listEntries(): Promise<HistoryEntry[]> {
  const all = await values<HistoryEntry>(db());
  return all.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));
}

export async function deleteEntry(id: string): Promise<void> {
  await del(id, db());
}

export async function deleteAll(): Promise<void> {
  await clear(db());
}
