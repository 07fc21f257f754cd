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
/**
 * fast: every component stays loaded between images. low-memory: one component at a time (encode the
 * prompt, release the text encoders, load the transformer, release it, load the VAE decoder).
 */
export type MemoryMode = 'fast' | 'low-memory';
/** auto: chosen from the weights' size and the device. */
export type MemoryModePreference = 'auto' | MemoryMode;
/** Guidance per step: one batch-2 transformer run, two batch-1 runs, or one run without guidance. */
export type GuidancePlan = 'batched' | 'split' | 'single';

export interface LoadRequest {
  modelId: string;
  /** Absolute URL of the model folder (the page resolves relative registry paths). */
  baseUrl: string;
  backend?: BackendPreference;
  /** Memory mode (default auto). */
  memoryMode?: MemoryModePreference;
  /**
   * The image the person is about to make (the form's size and guidance): sessions are pinned to its
   * shapes at load, so the first image does not re-create them. Default: the pack's recommended settings.
   */
  firstImage?: { width: number; height: number; guidance: number };
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
  /** navigator.deviceMemory (GiB; browsers cap it at 8), where the browser tells it. */
  deviceMemoryGiB?: number;
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
  /** The memory mode in use and why (weights' bytes compared with what the device should hold). */
  memory?: { mode: MemoryMode; reason: string; weightBytes: number };
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

export type Phase = 'downloading' | 'loading' | 'encoding' | 'denoising' | 'decoding';

/** Install progress: bytes per file and overall, speed and time left. */
export interface DownloadProgress {
  modelId: string;
  /**
   * checking: reading pack.json and what is stored; downloading: bytes arriving; waiting: another
   * tab is downloading this file (its bytes are shown as they land in storage); converting: an
   * export is being converted while it downloads; done: the pack is installed.
   */
  state: 'checking' | 'downloading' | 'waiting' | 'converting' | 'done';
  /** The file in progress (null between files). */
  file: string | null;
  fileBytesDone: number;
  fileBytesTotal: number;
  /** Bytes stored (installed or kept partial chunks) out of what the device's variants need. */
  bytesDone: number;
  bytesTotal: number;
  filesDone: number;
  filesTotal: number;
  /** Over this session's transfer; null before there is a rate. */
  bytesPerSecond: number | null;
  etaMs: number | null;
}

export type ProgressEvent =
  /** Install (download, or convert while downloading) before a load; see DownloadProgress. */
  | ({ phase: 'downloading' } & DownloadProgress)
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
  /** How guidance ran: one batch-2 transformer run per step, two batch-1 runs, or none (guidance ≤ 1). */
  guidancePlan?: GuidancePlan;
  /** Whether the denoising loop kept its tensors on the GPU (WebGPU) or ran on CPU arrays (WASM). */
  gpuResident?: boolean;
  /** Prompts that did not fit their encoder, with the words that were dropped. */
  truncated: TruncationReport[];
}

export interface InstallRequest {
  modelId: string;
  /** Absolute URL of the pack folder (the page resolves the registry path or ?packBase=). */
  baseUrl: string;
  /** Which backend's variants to install (default auto: what load() would pick on this device). */
  backend?: BackendPreference;
}

/** Convert while downloading: an optimum/Olive ONNX export read by HTTP byte ranges, converted into the store. */
export interface ExportInstallRequest {
  modelId: string;
  /** Base URL of the export (e.g. a hub repository's …/resolve/<revision>/); must allow CORS and Range. */
  exportUrl: string;
  /** Variants to convert (default: the one this device loads, q4f16 or q4). */
  variants?: Variant[];
  backend?: BackendPreference;
}

/** A file of a folder the person picked, with its path relative to that folder ("transformer/model.onnx"). */
export interface LocalFile {
  path: string;
  file: Blob;
}

/**
 * Import from a local folder: a model pack (pack.json + files; verified against pack.json) or an
 * optimum/Olive ONNX export (converted on import). Either way the files go into the weight store.
 */
export interface FolderInstallRequest {
  /** A pack installs under its pack.json id (which must be this one); an export is converted into this id. */
  modelId: string;
  /** The folder's name, for messages and the storage panel. */
  folderName: string;
  files: LocalFile[];
  /** Variants to convert an export to (default: the one this device loads). */
  variants?: Variant[];
  backend?: BackendPreference;
}

/** A pack in the browser's weight store, as the storage panel shows it. */
export interface InstalledPack {
  id: string;
  name: string;
  /** installing: a download or conversion is unfinished (paused, resumable); installed: ready to load offline. */
  state: 'installing' | 'installed';
  variants: Partial<Record<ModelComponent, Variant>>;
  /** Bytes the installed pack needs, and bytes stored for it now (partial chunks included). */
  bytesTotal: number;
  bytesStored: number;
  filesTotal: number;
  filesInstalled: number;
  source: { kind: 'pack'; baseUrl: string } | { kind: 'export'; exportUrl: string } | { kind: 'folder'; folderName: string };
  updatedAt: number;
  installedAt?: number;
}

export interface PackVerifyReport {
  id: string;
  ok: boolean;
  /** Files that failed were removed; installing again downloads just those. */
  files: { path: string; ok: boolean; reason?: string }[];
}

export interface StorageInfo {
  /** navigator.storage.estimate(); null where unknown. */
  usage: number | null;
  quota: number | null;
  /** navigator.storage.persisted(): true when the browser will not evict the models under pressure. */
  persisted: boolean | null;
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
  /** Downloads the pack into the browser's weight store (resumable); afterwards load() needs no network. */
  install(request: InstallRequest, onProgress?: (e: ProgressEvent) => void): Promise<InstalledPack>;
  /** Converts an ONNX export into the store while it downloads (byte ranges). */
  installFromExport(request: ExportInstallRequest, onProgress?: (e: ProgressEvent) => void): Promise<InstalledPack>;
  /** Installs a pack, or converts an export, from files the person picked (a local folder). */
  installFromFolder(request: FolderInstallRequest, onProgress?: (e: ProgressEvent) => void): Promise<InstalledPack>;
  /** Stores an access token for a gated model host (this browser only; sent only to that host). */
  setSourceToken(host: string, token: string): Promise<void>;
  forgetSourceToken(host: string): Promise<void>;
  /** Hosts with a stored token (never the tokens themselves). */
  sourceTokenHosts(): Promise<string[]>;
  /** Stops a running install or conversion of `modelId` (CANCELLED; what arrived is kept). */
  cancelInstall(modelId: string): Promise<void>;
  installed(): Promise<InstalledPack[]>;
  /** Removes the pack and any partial download of it. */
  deletePack(id: string): Promise<void>;
  /** Re-hashes the stored files; bad ones are removed. */
  verifyPack(id: string): Promise<PackVerifyReport>;
  storageInfo(): Promise<StorageInfo>;
}

export type { ErrorInfo };
