/**
 * The parameters of one generation as the library takes them: what the caller gave, completed with
 * the model's recommended values. Pure: no DOM, no worker. Range checks (multiple of 16, steps,
 * guidance) stay with the engine, which reports them with their codes (INVALID_SIZE, …).
 */
import { WebDiffusionError } from '../errors.js';
import type { ModelEntry } from '../models/registry.js';

export const MAX_SEED = 2 ** 32 - 1;

export interface GenerateParams {
  prompt: string;
  negativePrompt?: string;
  /** Pixels; default: the model's recommended size. */
  width?: number;
  height?: number;
  /** Denoising steps; default: the model's recommendation. */
  steps?: number;
  /** Classifier-free guidance scale; default: the model's recommendation. */
  guidance?: number;
  /** Integer in [0, 2^32); omitted or null: a random seed, reported in the result. */
  seed?: number | null;
}

/** What is sent to the worker (its jobId is added by the client). */
export interface ResolvedParams {
  prompt: string;
  negativePrompt: string;
  width: number;
  height: number;
  steps: number;
  guidance: number;
  seed: number | undefined;
}

/** The model's recommended settings: the defaults of every generation. */
export function modelDefaults(entry: Pick<ModelEntry, 'recommended'>): { width: number; height: number; steps: number; guidance: number } {
  const { width, height, steps, guidance } = entry.recommended;
  return { width, height, steps, guidance };
}

const invalid = (code: 'INVALID_PROMPT' | 'INVALID_SEED' | 'INVALID_REQUEST', message: string, hint: string, details: Record<string, unknown>) =>
  new WebDiffusionError(code, message, { hint, details });

function optionalNumber(name: string, value: unknown, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw invalid('INVALID_REQUEST', `${name} must be a number; got ${JSON.stringify(value)}.`, `Leave ${name} out to use the model's recommended value.`, { field: name, value: String(value) });
  }
  return value;
}

/** Completes `params` with the model's defaults; throws INVALID_* for values of the wrong kind. */
export function resolveParams(entry: Pick<ModelEntry, 'recommended'>, params: GenerateParams): ResolvedParams {
  if (typeof params?.prompt !== 'string') {
    throw invalid('INVALID_PROMPT', 'The prompt must be a string.', 'Pass { prompt: "a lighthouse at dusk" }.', { field: 'prompt' });
  }
  if (params.negativePrompt !== undefined && typeof params.negativePrompt !== 'string') {
    throw invalid('INVALID_PROMPT', 'The negative prompt must be a string.', 'Leave it out for none.', { field: 'negativePrompt' });
  }
  const d = modelDefaults(entry);
  const seed = params.seed;
  if (seed !== undefined && seed !== null && !(Number.isInteger(seed) && seed >= 0 && seed <= MAX_SEED)) {
    throw invalid('INVALID_SEED', `The seed must be a whole number from 0 to ${MAX_SEED}; got ${String(seed)}.`, 'Leave the seed out for a random one.', { field: 'seed', value: String(seed) });
  }
  return {
    prompt: params.prompt,
    negativePrompt: params.negativePrompt ?? '',
    width: optionalNumber('width', params.width, d.width),
    height: optionalNumber('height', params.height, d.height),
    steps: optionalNumber('steps', params.steps, d.steps),
    guidance: optionalNumber('guidance', params.guidance, d.guidance),
    seed: seed ?? undefined,
  };
}
