/**
 * Loads an SD3 model folder (optimum layout) into a ready pipeline: configs, tokenizers, then one
 * session at a time (each component's bytes are dropped as soon as its session exists).
 */
import type { Sd3Pipeline } from '../diffusion/text-to-image.js';
import { WebDiffusionError } from '../errors.js';
import { readJson, type ModelSource } from '../models/model-source.js';
import { readSd3Config, type Sd3Config } from '../models/sd3-config.js';
import type { ProgressEvent, Variant } from '../protocol.js';
import { variantFileName } from '../runtime/backend.js';
import { externalDataLocations } from '../runtime/external-data.js';
import type { ModelSession, SessionRunner } from '../runtime/session-runner.js';
import { clipSequenceOutput } from '../text/encode-prompt.js';
import { PromptTokenizer } from '../text/tokenize.js';

/** Inputs and outputs each component's graph must have (contract §3.3, §5.1). */
export function expectedInterface(component: string, config: Sd3Config): { inputs: string[]; outputs: string[] } {
  switch (component) {
    case 'text_encoder':
      return { inputs: ['input_ids'], outputs: ['text_embeds', clipSequenceOutput(config.clipL.layers)] };
    case 'text_encoder_2':
      return { inputs: ['input_ids'], outputs: ['text_embeds', clipSequenceOutput(config.clipG.layers)] };
    case 'text_encoder_3':
      return { inputs: ['input_ids'], outputs: ['last_hidden_state'] };
    case 'transformer':
      return { inputs: ['hidden_states', 'encoder_hidden_states', 'pooled_projections', 'timestep'], outputs: ['out_hidden_states'] };
    case 'vae_decoder':
      return { inputs: ['latent_sample'], outputs: ['sample'] };
    case 'vae_encoder':
      return { inputs: ['sample'], outputs: ['latent_parameters'] };
    default:
      throw new RangeError(`unknown component ${component}`);
  }
}

function checkInterface(component: string, session: ModelSession, config: Sd3Config): void {
  const want = expectedInterface(component, config);
  const missingIn = want.inputs.filter((n) => !session.inputNames.includes(n));
  const missingOut = want.outputs.filter((n) => !session.outputNames.includes(n));
  if (missingIn.length || missingOut.length) {
    throw new WebDiffusionError(
      'MODEL_INVALID',
      `${component}/ graph lacks ${[...missingIn.map((n) => `input ${n}`), ...missingOut.map((n) => `output ${n}`)].join(', ')}.`,
      { hint: 'Export the model with the optimum SD3 layout.', details: { component, inputs: session.inputNames, outputs: session.outputNames } },
    );
  }
}

async function loadTokenizer(source: ModelSource, folder: string, maxLength?: number): Promise<PromptTokenizer> {
  const [json, cfg] = await Promise.all([readJson<object>(source, `${folder}/tokenizer.json`), readJson<object>(source, `${folder}/tokenizer_config.json`)]);
  try {
    return PromptTokenizer.fromJson(json, cfg, maxLength);
  } catch (e) {
    throw new WebDiffusionError('MODEL_INVALID', `${folder}/: ${e instanceof Error ? e.message : e}`, { details: { file: `${folder}/tokenizer.json` }, cause: e });
  }
}

export interface LoadOptions {
  variant: Variant;
  onProgress?: (e: ProgressEvent) => void;
  /** Components to load beyond text-to-image's needs (e.g. vae_encoder for img2img). */
  extra?: string[];
}

export async function loadSd3Pipeline(source: ModelSource, runner: SessionRunner, options: LoadOptions): Promise<Sd3Pipeline> {
  const config = await readSd3Config(source);
  const components = ['text_encoder', 'text_encoder_2', ...(config.hasT5 ? ['text_encoder_3'] : []), 'transformer', 'vae_decoder', ...(options.extra ?? [])];
  const total = components.length + 1;
  options.onProgress?.({ phase: 'loading', component: 'tokenizers', done: 0, total });
  const [tokL, tokG, tokT5] = await Promise.all([
    loadTokenizer(source, 'tokenizer'),
    loadTokenizer(source, 'tokenizer_2'),
    config.hasT5 ? loadTokenizer(source, 'tokenizer_3', config.t5Length) : Promise.resolve(null),
  ]);
  const sessions = new Map<string, ModelSession>();
  try {
    for (const [i, component] of components.entries()) {
      options.onProgress?.({ phase: 'loading', component, done: i + 1, total });
      const file = `${component}/${variantFileName(options.variant)}`;
      const model = await source.readBytes(file);
      const externalData = await Promise.all(
        externalDataLocations(model, file).map(async (path) => ({ path, data: await source.readBytes(`${component}/${path}`) })),
      );
      const session = await runner.createSession(component, model, externalData);
      sessions.set(component, session);
      checkInterface(component, session, config);
    }
  } catch (e) {
    await Promise.all([...sessions.values()].map((s) => s.release()));
    throw e;
  }
  options.onProgress?.({ phase: 'loading', component: 'done', done: total, total });
  const get = (name: string) => sessions.get(name)!;
  return {
    config,
    encoders: {
      clipL: { tokenizer: tokL, session: get('text_encoder') },
      clipG: { tokenizer: tokG, session: get('text_encoder_2') },
      t5: tokT5 ? { tokenizer: tokT5, session: get('text_encoder_3') } : null,
    },
    transformer: get('transformer'),
    vaeDecoder: get('vae_decoder'),
  };
}

export async function releasePipeline(p: Sd3Pipeline): Promise<void> {
  const sessions = [p.encoders.clipL.session, p.encoders.clipG.session, p.encoders.t5?.session, p.transformer, p.vaeDecoder];
  await Promise.all(sessions.map((s) => s?.release()));
}
