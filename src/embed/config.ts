/**
 * The attributes of <sd-generator>, read into a configuration. Pure: a getter in, data out, so it
 * is tested without a DOM. A value that cannot be used is left out (the model's default applies)
 * and named in `problems`, which the element shows.
 */
import { DEFAULT_MODEL_ID } from '../models/registry.js';
import type { BackendPreference } from '../protocol.js';

export const ELEMENT_ATTRIBUTES = ['model', 'pack-base', 'width', 'height', 'prompt', 'negative-prompt', 'steps', 'guidance', 'seed', 'backend'] as const;
export type ElementAttribute = (typeof ELEMENT_ATTRIBUTES)[number];

export interface ElementConfig {
  /** Registry id of the model (default: the demo model). */
  model: string;
  /** Folder holding `<model id>/pack.json`, relative to the page; null: the registry's own path. */
  packBase: string | null;
  backend: BackendPreference;
  /** The prompt the text box starts with. */
  prompt: string;
  negativePrompt: string;
  /** undefined: the model's recommended value. */
  width: number | undefined;
  height: number | undefined;
  steps: number | undefined;
  guidance: number | undefined;
  /** null: a random seed for every image. */
  seed: number | null;
}

export interface ParsedConfig {
  config: ElementConfig;
  /** One line per attribute that was ignored, saying why. */
  problems: string[];
}

const BACKENDS: readonly BackendPreference[] = ['auto', 'webgpu', 'wasm'];

export function parseConfig(get: (name: ElementAttribute) => string | null): ParsedConfig {
  const problems: string[] = [];
  const text = (name: ElementAttribute) => get(name)?.trim() ?? '';

  function whole(name: ElementAttribute, min: number, max: number): number | undefined {
    const raw = text(name);
    if (raw === '') return undefined;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min || n > max) {
      problems.push(`${name}="${raw}" is not a whole number from ${min} to ${max}; the default is used.`);
      return undefined;
    }
    return n;
  }

  function decimal(name: ElementAttribute, min: number, max: number): number | undefined {
    const raw = text(name);
    if (raw === '') return undefined;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min || n > max) {
      problems.push(`${name}="${raw}" is not a number from ${min} to ${max}; the default is used.`);
      return undefined;
    }
    return n;
  }

  const backendRaw = text('backend').toLowerCase();
  let backend: BackendPreference = 'auto';
  if (backendRaw !== '') {
    if ((BACKENDS as string[]).includes(backendRaw)) backend = backendRaw as BackendPreference;
    else problems.push(`backend="${text('backend')}" is not one of ${BACKENDS.join(', ')}; auto is used.`);
  }

  const config: ElementConfig = {
    model: text('model') || DEFAULT_MODEL_ID,
    packBase: text('pack-base') || null,
    backend,
    prompt: get('prompt') ?? '',
    negativePrompt: get('negative-prompt') ?? '',
    width: whole('width', 1, 4096),
    height: whole('height', 1, 4096),
    steps: whole('steps', 1, 200),
    guidance: decimal('guidance', 0, 50),
    seed: whole('seed', 0, 2 ** 32 - 1) ?? null,
  };
  return { config, problems };
}

/** The size the element lays out for before the model is known: the attributes, else the model's. */
export function displaySize(config: Pick<ElementConfig, 'width' | 'height'>, defaults: { width: number; height: number }): { width: number; height: number } {
  return { width: config.width ?? defaults.width, height: config.height ?? defaults.height };
}
