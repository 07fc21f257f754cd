/**
 * The worker API: what the page may ask of the generator and what comes back. Types only, so the
 * page bundle imports nothing of the worker (squoosh's habit).
 */
import type { ErrorInfo } from './errors.js';

export type BackendPreference = 'auto' | 'webgpu' | 'wasm';
export type BackendKind = 'webgpu' | 'wasm';
/** Weight precision variants, named as transformers.js names the files (model_q4f16.onnx, …). */
export type Variant = 'fp32' | 'fp16' | 'q4' | 'q4f16';

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
}

export interface LoadedModel {
  modelId: string;
  backend: BackendInfo;
  variant: Variant;
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
}

export type Phase = 'loading' | 'encoding' | 'denoising' | 'decoding';

export type ProgressEvent =
  | { phase: 'loading'; component: string; done: number; total: number }
  | { phase: 'encoding'; jobId: string }
  | { phase: 'denoising'; jobId: string; step: number; totalSteps: number; elapsedMs: number; etaMs: number }
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
  unload(): Promise<void>;
}

export type { ErrorInfo };
