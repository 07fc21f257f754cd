/**
 * Share links: the parameters of an image in the URL's fragment (#prompt=…&size=…), so that a
 * prompt never reaches a server's logs (the fragment is not sent with the request). Opening such a
 * link fills the form; it never starts a download or a generation. Pure, no DOM.
 */
import { MAX_SEED, type GenerationParams } from '../shared/params.js';

const KEYS = ['prompt', 'negative', 'size', 'steps', 'guidance', 'seed', 'model'] as const;

/** The fragment ("#…") that carries `p`. A random seed (null) is left out. */
export function shareFragment(p: GenerationParams): string {
  const q = new URLSearchParams();
  q.set('prompt', p.prompt);
  if (p.negativePrompt) q.set('negative', p.negativePrompt);
  q.set('size', `${p.width}x${p.height}`);
  q.set('steps', String(p.steps));
  q.set('guidance', String(p.guidance));
  if (p.seed !== null) q.set('seed', String(p.seed));
  q.set('model', p.modelId);
  return `#${q.toString()}`;
}

/** The full link: `base` (the page's URL) with its fragment replaced. */
export function shareUrl(base: string, p: GenerationParams): string {
  const url = new URL(base);
  url.hash = shareFragment(p);
  return url.href;
}

export interface SharedParameters {
  params: Partial<GenerationParams>;
  /** Values present but unusable, in words. */
  problems: string[];
}

/** True when a fragment looks like one of our share links. */
export function isShareFragment(hash: string): boolean {
  const pairs = hash.replace(/^#/, '').split('&');
  return KEYS.some((k) => pairs.some((p) => p.startsWith(`${k}=`)));
}

/** Reads a fragment written by shareFragment (tolerantly: bad values are reported and skipped). */
export function paramsFromFragment(hash: string): SharedParameters {
  const q = new URLSearchParams(hash.replace(/^#/, ''));
  const params: Partial<GenerationParams> = {};
  const problems: string[] = [];
  const text = (k: string) => q.get(k);
  const numberOf = (k: string, ok: (n: number) => boolean, assign: (n: number) => void) => {
    const v = text(k);
    if (v === null) return;
    const n = v.trim() === '' ? Number.NaN : Number(v);
    if (ok(n)) assign(n);
    else problems.push(`${k}=${v}`);
  };
  const prompt = text('prompt');
  if (prompt !== null) params.prompt = prompt;
  const negative = text('negative');
  if (negative !== null) params.negativePrompt = negative;
  const size = text('size');
  if (size !== null) {
    const m = /^(\d+)x(\d+)$/.exec(size);
    if (m) (params.width = Number(m[1])), (params.height = Number(m[2]));
    else problems.push(`size=${size}`);
  }
  numberOf('steps', Number.isInteger, (n) => (params.steps = n));
  numberOf('guidance', Number.isFinite, (n) => (params.guidance = n));
  numberOf('seed', (n) => Number.isInteger(n) && n >= 0 && n <= MAX_SEED, (n) => (params.seed = n));
  // A link made with a random seed carries none: the form goes back to random.
  if (!q.has('seed') && isShareFragment(hash)) params.seed = null;
  const model = text('model');
  if (model) params.modelId = model;
  return { params, problems };
}
