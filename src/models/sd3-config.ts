/**
 * The facts the pipeline needs about a model, from either of two places: a pack's `pack.json`
 * architecture block (`configFromManifest`, what the loader uses), or the configs that travel with
 * a diffusers/optimum export (model_index.json and each component's config.json: `readSd3Config`,
 * what the converter reads from its sources). Validation errors name the file and the field.
 */
import { z } from 'zod';
import { WebDiffusionError } from '../errors.js';
import { readJson, type ModelSource } from './model-source.js';
import { PACK_MANIFEST_FILE, type PackManifest } from './pack-manifest.js';

const componentRef = z.union([z.tuple([z.string(), z.string()]), z.tuple([z.null(), z.null()])]);

const modelIndexSchema = z.looseObject({
  _class_name: z.string(),
  text_encoder: componentRef,
  text_encoder_2: componentRef,
  text_encoder_3: componentRef.optional(),
  transformer: componentRef,
  scheduler: componentRef,
});

const clipSchema = z.looseObject({
  num_hidden_layers: z.number().int().positive(),
  hidden_size: z.number().int().positive(),
  projection_dim: z.number().int().positive(),
});

const t5Schema = z.looseObject({ d_model: z.number().int().positive() });

const transformerSchema = z.looseObject({
  in_channels: z.number().int().positive(),
  patch_size: z.number().int().positive(),
  sample_size: z.number().int().positive(),
  joint_attention_dim: z.number().int().positive(),
  pooled_projection_dim: z.number().int().positive(),
  pos_embed_max_size: z.number().int().positive(),
});

const vaeSchema = z.looseObject({
  latent_channels: z.number().int().positive(),
  block_out_channels: z.array(z.number().int().positive()).min(1),
  scaling_factor: z.number().positive(),
  shift_factor: z.number().nullable().optional(),
});

const schedulerSchema = z.looseObject({
  _class_name: z.literal('FlowMatchEulerDiscreteScheduler'),
  num_train_timesteps: z.number().int().positive().default(1000),
  shift: z.number().positive().default(1.0),
  use_dynamic_shifting: z.boolean().optional(),
});

export interface Sd3Config {
  hasT5: boolean;
  /** T5 sequence length the pipeline feeds (diffusers' max_sequence_length default). */
  t5Length: number;
  /** CLIP tokenizer length (77). */
  clipLength: number;
  /** `hidden` and `projection` come from config.json (readSd3Config); a pack manifest does not carry them. */
  clipL: { layers: number; hidden?: number; projection?: number };
  clipG: { layers: number; hidden?: number; projection?: number };
  transformer: { inChannels: number; patchSize: number; sampleSize: number; jointAttentionDim: number; pooledProjectionDim: number; posEmbedMaxSize: number };
  vae: { latentChannels: number; scaleFactor: number; scalingFactor: number; shiftFactor: number };
  scheduler: { numTrainTimesteps: number; shift: number };
}

async function parse<S extends z.ZodType>(source: ModelSource, path: string, schema: S): Promise<z.output<S>> {
  const json = await readJson(source, path);
  const result = schema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const field = issue.path.join('.') || '(root)';
    throw new WebDiffusionError('MODEL_INVALID', `${path}: field "${field}" ${issue.message.toLowerCase()}.`, {
      hint: 'The model folder does not follow the SD3 diffusers/optimum layout.',
      details: { file: path, field },
    });
  }
  return result.data;
}

export async function readSd3Config(source: ModelSource): Promise<Sd3Config> {
  const index = await parse(source, 'model_index.json', modelIndexSchema);
  const hasT5 = Boolean(index.text_encoder_3 && index.text_encoder_3[0] !== null);
  const [clipL, clipG, transformer, vae, scheduler] = await Promise.all([
    parse(source, 'text_encoder/config.json', clipSchema),
    parse(source, 'text_encoder_2/config.json', clipSchema),
    parse(source, 'transformer/config.json', transformerSchema),
    parse(source, 'vae_decoder/config.json', vaeSchema),
    parse(source, 'scheduler/scheduler_config.json', schedulerSchema),
  ]);
  if (scheduler.use_dynamic_shifting) {
    throw new WebDiffusionError('MODEL_INVALID', 'scheduler/scheduler_config.json: use_dynamic_shifting is not supported for SD3.', {
      details: { file: 'scheduler/scheduler_config.json', field: 'use_dynamic_shifting' },
    });
  }
  if (hasT5) {
    const t5 = await parse(source, 'text_encoder_3/config.json', t5Schema);
    if (t5.d_model !== transformer.joint_attention_dim) {
      throw new WebDiffusionError('MODEL_INVALID', `text_encoder_3/config.json: d_model ${t5.d_model} differs from the transformer's joint_attention_dim ${transformer.joint_attention_dim}.`, {
        details: { file: 'text_encoder_3/config.json', field: 'd_model' },
      });
    }
  }
  if (clipL.projection_dim + clipG.projection_dim !== transformer.pooled_projection_dim) {
    throw new WebDiffusionError('MODEL_INVALID', 'The two CLIP projection sizes do not add up to the transformer\'s pooled_projection_dim.', {
      details: { file: 'transformer/config.json', field: 'pooled_projection_dim' },
    });
  }
  if (clipL.hidden_size + clipG.hidden_size > transformer.joint_attention_dim) {
    throw new WebDiffusionError('MODEL_INVALID', 'The CLIP hidden sizes together exceed the transformer\'s joint_attention_dim.', {
      details: { file: 'transformer/config.json', field: 'joint_attention_dim' },
    });
  }
  return {
    hasT5,
    t5Length: 256,
    clipLength: 77,
    clipL: { layers: clipL.num_hidden_layers, hidden: clipL.hidden_size, projection: clipL.projection_dim },
    clipG: { layers: clipG.num_hidden_layers, hidden: clipG.hidden_size, projection: clipG.projection_dim },
    transformer: {
      inChannels: transformer.in_channels,
      patchSize: transformer.patch_size,
      sampleSize: transformer.sample_size,
      jointAttentionDim: transformer.joint_attention_dim,
      pooledProjectionDim: transformer.pooled_projection_dim,
      posEmbedMaxSize: transformer.pos_embed_max_size,
    },
    vae: {
      latentChannels: vae.latent_channels,
      scaleFactor: 2 ** (vae.block_out_channels.length - 1),
      scalingFactor: vae.scaling_factor,
      shiftFactor: vae.shift_factor ?? 0,
    },
    scheduler: { numTrainTimesteps: scheduler.num_train_timesteps, shift: scheduler.shift },
  };
}

function manifestError(field: string, message: string): WebDiffusionError {
  return new WebDiffusionError('MODEL_INVALID', `${PACK_MANIFEST_FILE}: field "${field}" ${message}.`, {
    hint: 'The model pack manifest is damaged or was written by a faulty converter; re-download or re-convert the pack.',
    details: { file: PACK_MANIFEST_FILE, field },
  });
}

/**
 * The pipeline's config from a validated pack manifest (parsePackManifest). Checks the facts that
 * must agree with each other; an error names the manifest field.
 */
export function configFromManifest(m: PackManifest): Sd3Config {
  const a = m.architecture;
  const multipleOf = a.vaeScaleFactor * a.patchSize;
  const { min, max, default: def } = a.sampleSize;
  if (min > max || def < min || def > max) throw manifestError('architecture.sampleSize', `needs min ≤ default ≤ max (got ${min}, ${def}, ${max})`);
  for (const [k, v] of [['min', min], ['max', max], ['default', def]] as const) {
    if (v % multipleOf !== 0) throw manifestError(`architecture.sampleSize.${k}`, `must be a multiple of vaeScaleFactor × patchSize = ${multipleOf} (got ${v})`);
  }
  return {
    hasT5: a.hasT5,
    t5Length: a.t5Length,
    clipLength: a.clipLength,
    clipL: { layers: a.clipLayers.text_encoder },
    clipG: { layers: a.clipLayers.text_encoder_2 },
    transformer: {
      inChannels: a.latentChannels,
      patchSize: a.patchSize,
      sampleSize: def / a.vaeScaleFactor,
      jointAttentionDim: a.jointAttentionDim,
      pooledProjectionDim: a.pooledProjectionDim,
      // The position table covers sampleSize.max pixels per side (possibly cropped at conversion).
      posEmbedMaxSize: max / multipleOf,
    },
    vae: { latentChannels: a.latentChannels, scaleFactor: a.vaeScaleFactor, scalingFactor: a.vaeScalingFactor, shiftFactor: a.vaeShiftFactor },
    scheduler: { numTrainTimesteps: a.scheduler.numTrainTimesteps, shift: a.scheduler.shift },
  };
}

/** Image-size rules of a model: multiples of vae_scale·patch (16), within the position table. */
export function sizeLimits(config: Sd3Config, practical?: { min: number; max: number }) {
  const multipleOf = config.vae.scaleFactor * config.transformer.patchSize;
  const tableMax = config.transformer.posEmbedMaxSize * multipleOf;
  return {
    multipleOf,
    minSide: Math.max(multipleOf * 4, practical?.min ?? 0),
    maxSide: Math.min(tableMax, practical?.max ?? tableMax),
  };
}
