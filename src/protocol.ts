/**
 * The worker API: what the page may ask of the generator and what comes back. Types only, so the
 * page bundle imports nothing of the worker (squoosh's habit).
 */
import type { ErrorInfo } from './errors.js';

export type BackendPreference = 'auto' | 'webgpu' | 'wasm';
export type BackendKind = 'webgpu' | 'wasm';
/** Weight precision variants, named as transformers.js names the files (model_q4f16.onnx, …). */
export type Variant = 'fp32' | 'fp16' | 'q4' | 'q4f16';
/** Model components of an SD3 pack (optimum folder names). */
export type ModelComponent = 'text_encoder' | 'text_encoder_2' | 'text_encoder_3' | 'transformer' | 'vae_decoder' | 'vae_encoder';

export interface LoadRequest {
  modelId: string;
  /** Absolute URL of the model folder (the page resolves relative registry paths). */
  baseUrl: string;
  backend?: BackendPreference;
}

export interface BackendInfo {
  kind: BackendKind;
  /** WebGPU adapter description, or "WebAssembly (n threads)". */
  description: string;
  shaderF16: boolean;
  threads: number;
  crossOriginIsolated: boolean;
  /** Why the other backend was not taken (e.g. "no WebGPU adapter"). */
  note?: string;
  /** The WebGPU adapter's buffer limits (bytes), for the capability panel and guidance batching. */
  gpuLimits?: { maxBufferSize: number; maxStorageBufferBindingSize: number };
}

export interface LoadedModel {
  modelId: string;
  backend: BackendInfo;
  /** The transformer's variant (the one that matters most for speed and quality; shown in the UI). */
  variant: Variant;
  /** The variant loaded for each component (chosen per component from the pack's manifest). */
  variants: Partial<Record<ModelComponent, Variant>>;
  hasT5: boolean;
  /** Latent-space facts the UI needs to validate sizes. */
  limits: { minSide: number; maxSide: number; multipleOf: number };
  loadMs: number;
}

export interface GenerateRequest {
  /** Identifies the job so it can be cancelled. */
  jobId: string;
  prompt: string;
  negativePrompt?: string;
  width: number;
  height: number;
  steps: number;
  guidance: number;
  /** Integer in [0, 2^32); omitted → a random one, reported back. */
  seed?: number;
  /** Send a latent preview with every denoising step (contract §11); default false. */
  preview?: boolean;
}

/** A cheap RGBA image of the denoised estimate at latent resolution (width = image width / 8). */
export interface PreviewImage {
  width: number;
  height: number;
  rgba: Uint8ClampedArray;
}

/** Token use of a text per encoder, for live counters. */
export interface TokenCount {
  /** Tokens the text needs, including the start/end tokens. */
  count: number;
  /** What the encoder takes (77 for CLIP, 256 for T5). */
  max: number;
  /** The part of the text past the limit ('' when it fits). */
  droppedText: string;
}

export interface TokenCounts {
  clip: TokenCount;
  /** null when the model has no T5 encoder. */
  t5: TokenCount | null;
}

export type Phase = 'loading' | 'encoding' | 'denoising' | 'decoding';

export type ProgressEvent =
  /** done/total count components; bytesDone/bytesTotal count the pack's files read and verified so far. */
  | { phase: 'loading'; component: string; done: number; total: number; bytesDone?: number; bytesTotal?: number }
  | { phase: 'encoding'; jobId: string }
  | { phase: 'denoising'; jobId: string; step: number; totalSteps: number; elapsedMs: number; etaMs: number; preview?: PreviewImage }
  | { phase: 'decoding'; jobId: string };

export interface TruncationReport {
  field: 'prompt' | 'negativePrompt';
  encoder: 'clip' | 't5';
  maxTokens: number;
  tokenCount: number;
  droppedText: string;
}

export interface StageTimings {
  encodeMs: number;
  denoiseMs: number;
  decodeMs: number;
  totalMs: number;
  /** Time spent inside session runs (the rest is pipeline overhead). */
  sessionMs: number;
}

export interface GenerateResult<Image = ImageBitmap> {
  jobId: string;
  image: Image;
  width: number;
  height: number;
  seed: number;
  steps: number;
  guidance: number;
  timings: StageTimings;
  backend: BackendKind;
  /** Prompts that did not fit their encoder, with the words that were dropped. */
  truncated: TruncationReport[];
}

/** What the worker exposes through Comlink. */
export interface GeneratorApi {
  load(request: LoadRequest, onProgress?: (e: ProgressEvent) => void): Promise<LoadedModel>;
  generate(request: GenerateRequest, onProgress?: (e: ProgressEvent) => void): Promise<GenerateResult>;
  /** Cooperative: the job stops at its next step with CANCELLED; the worker stays usable. */
  cancel(jobId: string): Promise<void>;
  /** Token use of `text` for the loaded model's encoders (MODEL_NOT_LOADED before a load). */
  countTokens(text: string): Promise<TokenCounts>;
  unload(): Promise<void>;
}

export type { ErrorInfo };
