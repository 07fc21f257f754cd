/**
 * The AUTOMATIC1111 "parameters" text (the infotext other tools read from a PNG), written and read
 * the way A1111 does it (modules/processing.py create_infotext, modules/infotext_utils.py
 * parse_generation_parameters):
 *
 *   <prompt, possibly several lines>
 *   Negative prompt: <negative, possibly several lines>      (omitted when empty)
 *   Steps: 8, Sampler: Euler, Schedule type: Simple, CFG scale: 4.5, Seed: 1234, Size: 256x256, Model: tiny-sd3, Version: webdiffusion 0.1.0
 *
 * Values containing a comma, a colon or a newline are JSON-quoted (A1111's quote()). Pure, no DOM.
 */
import type { GenerationParams, ImageParams } from './params.js';
import { APP_VERSION } from './params.js';

/** The sampler and schedule of our flow-matching pipeline, in A1111's names. */
export const SAMPLER = 'Euler';
export const SCHEDULE_TYPE = 'Simple';

/** A1111's quote(): JSON-quote a value that would break the comma-separated line. */
export function quote(value: string | number): string {
  const s = String(value);
  return /[,\n:]/.test(s) ? JSON.stringify(s) : s;
}

function unquote(text: string): string {
  if (text.length < 2 || !text.startsWith('"') || !text.endsWith('"')) return text;
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'string' ? v : text;
  } catch {
    return text;
  }
}

/** The infotext of an image, in A1111's field order. */
export function formatParameters(p: ImageParams, version = APP_VERSION): string {
  const fields: [string, string | number][] = [
    ['Steps', p.steps],
    ['Sampler', SAMPLER],
    ['Schedule type', SCHEDULE_TYPE],
    ['CFG scale', p.guidance],
    ['Seed', p.seed],
    ['Size', `${p.width}x${p.height}`],
    ['Model', p.modelId],
    ['Version', version],
  ];
  const line = fields.map(([k, v]) => `${k}: ${quote(v)}`).join(', ');
  const negative = p.negativePrompt ? `\nNegative prompt: ${p.negativePrompt}` : '';
  return `${p.prompt}${negative}\n${line}`.trim();
}

export interface Infotext {
  prompt: string;
  negativePrompt: string;
  /** The "key: value" pairs of the last line, in order, unquoted. */
  fields: [string, string][];
}

// A1111's re_param_code, verbatim.
const PARAM = /\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)/g;
const IMAGE_SIZE = /^(\d+)x(\d+)$/;

/** Splits an infotext into prompt, negative prompt and fields, exactly as A1111 does. */
export function parseInfotext(text: string): Infotext {
  const lines = text.trim().split('\n');
  let last = lines.pop() ?? '';
  if ([...last.matchAll(PARAM)].length < 3) {
    lines.push(last);
    last = '';
  }
  let prompt = '';
  let negativePrompt = '';
  let inNegative = false;
  for (let line of lines) {
    line = line.trim();
    if (line.startsWith('Negative prompt:')) {
      inNegative = true;
      line = line.slice(16).trim();
    }
    if (inNegative) negativePrompt += (negativePrompt === '' ? '' : '\n') + line;
    else prompt += (prompt === '' ? '' : '\n') + line;
  }
  const fields: [string, string][] = [...last.matchAll(PARAM)].map((m) => [m[1]!, unquote(m[2]!.trim())]);
  return { prompt, negativePrompt, fields };
}

export interface RestoredParameters {
  params: Partial<GenerationParams>;
  /** What was restored, in words ("prompt", "steps", …). */
  restored: string[];
  /** Fields we did not use, as "Key: value" with why where it helps. */
  ignored: string[];
}

/** Fields that only describe the writer, or that match what this app always does. */
function isHarmless(key: string, value: string): boolean {
  if (key === 'Version') return true;
  if (key === 'Sampler') return value === SAMPLER;
  if (key === 'Schedule type') return value === SCHEDULE_TYPE || value === 'Automatic';
  return false;
}

/**
 * Maps an infotext onto our parameters. `resolveModel` turns the "Model" value into one of our
 * model ids (or undefined when it names no model we have).
 */
export function parametersFromInfotext(text: string, resolveModel: (name: string) => string | undefined = () => undefined): RestoredParameters {
  const info = parseInfotext(text);
  const params: Partial<GenerationParams> = { prompt: info.prompt, negativePrompt: info.negativePrompt };
  const restored = ['prompt', 'negative prompt'];
  const ignored: string[] = [];
  const int = (v: string) => (/^\d+$/.test(v) ? Number(v) : undefined);
  const num = (v: string) => (/^-?\d+(\.\d+)?$/.test(v) ? Number(v) : undefined);
  for (const [key, value] of info.fields) {
    const pair = `${key}: ${value}`;
    switch (key) {
      case 'Steps': {
        const v = int(value);
        if (v === undefined) ignored.push(`${pair} (not a whole number)`);
        else (params.steps = v), restored.push('steps');
        break;
      }
      case 'CFG scale': {
        const v = num(value);
        if (v === undefined) ignored.push(`${pair} (not a number)`);
        else (params.guidance = v), restored.push('guidance');
        break;
      }
      case 'Seed': {
        const v = int(value);
        if (v === undefined) ignored.push(`${pair} (not a whole number)`);
        else (params.seed = v), restored.push('seed');
        break;
      }
      case 'Size': {
        const m = IMAGE_SIZE.exec(value);
        if (!m) ignored.push(`${pair} (not W×H)`);
        else (params.width = Number(m[1])), (params.height = Number(m[2])), restored.push('size');
        break;
      }
      case 'Model': {
        const id = resolveModel(value);
        if (id === undefined) ignored.push(`${pair} (no such model here)`);
        else (params.modelId = id), restored.push('model');
        break;
      }
      case 'Sampler':
        if (!isHarmless(key, value)) ignored.push(`${pair} (this app always samples with ${SAMPLER})`);
        break;
      default:
        if (!isHarmless(key, value)) ignored.push(pair);
    }
  }
  return { params, restored, ignored };
}
