/**
 * Progress of a download, a load or a generation as one line of text and one number, for the
 * page's status line, the storage panel, the embeddable element and the library. Pure, no DOM.
 */
import type { DownloadProgress, ProgressEvent } from '../protocol.js';
import { formatBytes } from './format-bytes.js';

export const formatEta = (ms: number | null): string => {
  if (ms === null || !Number.isFinite(ms)) return '';
  const s = Math.round(ms / 1000);
  return s >= 3600 ? `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min left` : s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s left` : `${s} s left`;
};

/** One line for a running install ("12.0 MiB of 1.50 GiB · 8.1 MiB/s · 3 min 2 s left"). */
export function describeDownload(p: DownloadProgress): string {
  const amount = `${formatBytes(p.bytesDone)} of ${formatBytes(p.bytesTotal)}`;
  switch (p.state) {
    case 'checking':
      return 'Checking what is already stored…';
    case 'waiting':
      return `Another tab is downloading ${p.file ?? 'this model'}; waiting for it · ${amount}`;
    case 'converting':
      return `Converting while downloading · ${amount}${p.file ? ` · ${p.file}` : ''}${p.etaMs !== null ? ` · ${formatEta(p.etaMs)}` : ''}`;
    case 'done':
      return `Installed · ${formatBytes(p.bytesTotal)}`;
    default:
      return [amount, p.bytesPerSecond ? `${formatBytes(p.bytesPerSecond)}/s` : '', formatEta(p.etaMs), `file ${Math.min(p.filesDone + 1, p.filesTotal)} of ${p.filesTotal}`]
        .filter(Boolean)
        .join(' · ');
  }
}

/** "1.2 s". */
export const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** "Downloading model · 12.0 MiB of 1.50 GiB · …", "Step 3/8 · 0.4 s/step · 1.2 s left", … */
export function describeProgress(e: ProgressEvent): string {
  switch (e.phase) {
    case 'downloading':
      return `Downloading model · ${describeDownload(e)}`;
    case 'loading': {
      if (e.component === 'done') return 'Model ready';
      const bytes = e.bytesTotal ? ` · ${Math.floor((100 * (e.bytesDone ?? 0)) / e.bytesTotal)}%` : '';
      return `Loading model: ${e.component} (${e.done}/${e.total})${bytes}`;
    }
    case 'encoding':
      return 'Encoding prompt…';
    case 'denoising':
      return `Step ${e.step}/${e.totalSteps} · ${seconds(e.elapsedMs / e.step)}/step · ${seconds(e.etaMs)} left`;
    case 'decoding':
      return 'Decoding image…';
  }
}

/** Progress within the current phase, 0…1; null when unknown. */
export function progressFraction(e: ProgressEvent): number | null {
  switch (e.phase) {
    case 'downloading':
      return e.bytesTotal > 0 ? Math.min(1, e.bytesDone / e.bytesTotal) : null;
    case 'loading':
      if (e.component === 'done') return 1;
      if (e.bytesTotal) return Math.min(1, (e.bytesDone ?? 0) / e.bytesTotal);
      return e.total ? e.done / e.total : null;
    case 'encoding':
      return 0.02;
    case 'denoising':
      return 0.02 + (0.93 * e.step) / e.totalSteps;
    case 'decoding':
      return 0.97;
  }
}
