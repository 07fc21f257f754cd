/**
 * The person's memory-mode choice (automatic, fast, low memory): kept in this browser, since it is a
 * property of the device rather than of an image (so not in share links or history). `?memory=`
 * overrides it for one visit.
 */
import type { MemoryModePreference } from '../protocol.js';

const KEY = 'webdiffusion.memoryMode';
const VALUES: readonly MemoryModePreference[] = ['auto', 'fast', 'low-memory'];
const valid = (v: string | null | undefined): v is MemoryModePreference => VALUES.includes(v as MemoryModePreference);

export function savedMemoryMode(fromQuery: string | null, store: Pick<Storage, 'getItem'> | undefined = globalThis.localStorage): MemoryModePreference {
  if (valid(fromQuery)) return fromQuery;
  try {
    const saved = store?.getItem(KEY);
    return valid(saved) ? saved : 'auto';
  } catch {
    return 'auto';
  }
}

export function saveMemoryMode(value: string, store: Pick<Storage, 'setItem'> | undefined = globalThis.localStorage): void {
  if (!valid(value)) return;
  try {
    store?.setItem(KEY, value);
  } catch {
    // Storage refused (private mode, quota): the choice lasts for this visit only.
  }
}
