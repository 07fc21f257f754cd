/**
 * webdiffusion as a library: Stable Diffusion 3.5 in the page, for sites that bring their own UI.
 *
 *   import { createGenerator } from './webdiffusion/index.js';
 *   const generator = createGenerator({ model: 'tiny-sd3', baseUrl: 'models/' });
 *   const { blob, bitmap, params } = await generator.generate({ prompt: 'a lighthouse', seed: 1 });
 *
 * The worker and onnxruntime's WebAssembly files are separate files next to this one, found
 * relative to it, so the folder works from any path of a static host.
 */
export { createGenerator } from './generator.js';
export type {
  CallOptions,
  GenerateOptions,
  GeneratedImage,
  Generator,
  GeneratorOptions,
  GeneratorProgress,
  ImageParameters,
  ModelInfo,
  ModelLicense,
  PreviewImage,
} from './generator.js';
export type { GenerateParams } from './params.js';
export { describeProgress, progressFraction } from './progress.js';
export { ERROR_CODES, isWebDiffusionError, WebDiffusionError } from '../errors.js';
export type { ErrorCode, ErrorInfo } from '../errors.js';
export { MODEL_REGISTRY } from '../models/registry.js';
export type { BackendKind, BackendPreference, LoadedModel, ProgressEvent, StageTimings, TruncationReport } from '../protocol.js';
