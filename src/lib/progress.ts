/**
 * Progress of an install, a load or a generation as one number and one line of text, for progress
 * bars and status lines. Pure.
 */
import type { ProgressEvent } from '../protocol.js';

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

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(bytes < 1e7 ? 1 : 0)} MB`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** "Downloading model · 1.2 MB of 2.6 MB", "Step 3/8 · 0.4 s left", … */
export function describeProgress(e: ProgressEvent): string {
  switch (e.phase) {
    case 'downloading':
      if (e.state === 'checking') return 'Checking the model…';
      if (e.state === 'done') return 'Model downloaded';
      return `Downloading model · ${mb(e.bytesDone)} of ${mb(e.bytesTotal)}${e.etaMs !== null ? ` · ${seconds(e.etaMs)} left` : ''}`;
    case 'loading':
      return e.component === 'done' ? 'Model ready' : `Loading model (${e.done}/${e.total})`;
    case 'encoding':
      return 'Reading the prompt…';
    case 'denoising':
      return `Step ${e.step}/${e.totalSteps} · ${seconds(e.etaMs)} left`;
    case 'decoding':
      return 'Decoding the image…';
  }
}
