/**
 * pack.json: the manifest of a browser model pack (docs/model-pack.md). The pipeline loads packs
 * only through it. Validated at load time; an error names the field.
 */
import { z } from 'zod';
import { WebDiffusionError } from '../errors.js';

export const PACK_SCHEMA_VERSION = 1;
export const PACK_MANIFEST_FILE = 'pack.json';

/** Component folders of an SD3 pack (optimum names). */
export const PACK_COMPONENTS = ['text_encoder', 'text_encoder_2', 'text_encoder_3', 'transformer', 'vae_decoder', 'vae_encoder'] as const;
export type PackComponent = (typeof PACK_COMPONENTS)[number];
export const PACK_TOKENIZERS = ['tokenizer', 'tokenizer_2', 'tokenizer_3'] as const;
export type PackTokenizer = (typeof PACK_TOKENIZERS)[number];

const relativePath = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !p.split('/').includes('..') && !p.includes('\\'), 'must be a relative path inside the pack');

export const packFileSchema = z.strictObject({
  path: relativePath,
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits'),
});
export type PackFile = z.infer<typeof packFileSchema>;

export const variantSchema = z.enum(['fp32', 'fp16', 'q4', 'q4f16']);

export const packVariantSchema = z.strictObject({
  /** The .onnx graph first, then its external-data shards in order (model_q4.onnx_data, _data_1, …). */
  files: z.array(packFileSchema).min(1),
  /** WebGPU adapter features the variant needs (fp16 activations need "shader-f16"). */
  requiresFeatures: z.array(z.enum(['shader-f16'])).default([]),
});
export type PackVariant = z.infer<typeof packVariantSchema>;

export const packComponentSchema = z.strictObject({
  /** Graph input and output names (the same for every variant). */
  inputs: z.array(z.string().min(1)).min(1),
  outputs: z.array(z.string().min(1)).min(1),
  variants: z.partialRecord(variantSchema, packVariantSchema).refine((v) => Object.keys(v).length > 0, 'needs at least one variant'),
});
export type PackComponentEntry = z.infer<typeof packComponentSchema>;

const positiveInt = z.number().int().positive();

export const packManifestSchema = z.strictObject({
  schemaVersion: z.literal(PACK_SCHEMA_VERSION),
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'must be lowercase letters, digits, ".", "_" or "-"'),
  name: z.string().min(1),
  license: z.strictObject({ name: z.string().min(1), url: z.string().url() }),
  /** Where the weights came from and what converted them. */
  source: z.strictObject({
    repository: z.string().optional(),
    revision: z.string().optional(),
    layout: z.enum(['optimum', 'olive', 'fixture']).optional(),
    converter: z.string(),
  }),
  architecture: z.strictObject({
    family: z.literal('sd3'),
    latentChannels: positiveInt,
    /** Pixels per latent pixel (8 for SD3). */
    vaeScaleFactor: positiveInt,
    vaeScalingFactor: z.number().positive(),
    vaeShiftFactor: z.number(),
    patchSize: positiveInt,
    jointAttentionDim: positiveInt,
    pooledProjectionDim: positiveInt,
    /** Hidden layers of each CLIP (the pipeline takes hidden_states.{layers-1}). */
    clipLayers: z.strictObject({ text_encoder: positiveInt, text_encoder_2: positiveInt }),
    clipLength: positiveInt,
    hasT5: z.boolean(),
    t5Length: positiveInt,
    /** Image side range in pixels (the position table's limit, possibly cropped at conversion). */
    sampleSize: z.strictObject({ min: positiveInt, max: positiveInt, default: positiveInt }),
    scheduler: z.strictObject({ shift: z.number().positive(), numTrainTimesteps: positiveInt }),
  }),
  recommended: z.strictObject({
    steps: positiveInt,
    guidance: z.number().nonnegative(),
    width: positiveInt,
    height: positiveInt,
  }),
  components: z
    .strictObject({
      text_encoder: packComponentSchema,
      text_encoder_2: packComponentSchema,
      text_encoder_3: packComponentSchema.optional(),
      transformer: packComponentSchema,
      vae_decoder: packComponentSchema,
      vae_encoder: packComponentSchema.optional(),
    }),
  tokenizers: z.strictObject({
    tokenizer: z.array(packFileSchema).min(2),
    tokenizer_2: z.array(packFileSchema).min(2),
    tokenizer_3: z.array(packFileSchema).min(2).optional(),
  }),
  /** Other files the pack carries so it is also a valid hub repository (configs, model_index.json). */
  extraFiles: z.array(packFileSchema).default([]),
});
export type PackManifest = z.infer<typeof packManifestSchema>;

/** Parses and validates a manifest; the error names the first offending field. */
export function parsePackManifest(json: unknown, where = PACK_MANIFEST_FILE): PackManifest {
  const result = packManifestSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const field = issue.path.map(String).join('.') || '(root)';
    throw new WebDiffusionError('MODEL_INVALID', `${where}: field "${field}" ${issue.message.charAt(0).toLowerCase()}${issue.message.slice(1)}.`, {
      hint: 'The model pack manifest is damaged or from an incompatible version; re-download or re-convert the pack.',
      details: { file: where, field },
    });
  }
  const m = result.data;
  if (m.architecture.hasT5 !== Boolean(m.components.text_encoder_3) || m.architecture.hasT5 !== Boolean(m.tokenizers.tokenizer_3)) {
    throw new WebDiffusionError('MODEL_INVALID', `${where}: field "architecture.hasT5" disagrees with the components and tokenizers listed.`, {
      details: { file: where, field: 'architecture.hasT5' },
    });
  }
  return m;
}

/** Every file a manifest lists (components' variants, tokenizers, extras), for download planning. */
export function allPackFiles(m: PackManifest): PackFile[] {
  const files: PackFile[] = [];
  for (const c of Object.values(m.components)) if (c) for (const v of Object.values(c.variants)) if (v) files.push(...v.files);
  for (const t of Object.values(m.tokenizers)) if (t) files.push(...t);
  files.push(...m.extraFiles);
  return files;
}
