/**
 * Loads an SD3 model pack (docs/model-pack.md) into a ready pipeline, only through its `pack.json`:
 * the manifest gives the architecture, each component's variants and files with their sizes and
 * sha256. Per component the variant is chosen for the backend; every file is checked (size, then
 * sha256) before a session is made from it; sessions are created one at a time and each
 * component's bytes are dropped as soon as its session exists (src/engine/component-sessions.ts).
 * The memory mode decides whether every session is created now (fast) or when a generation needs
 * it (low memory); on a GPU runner the pipeline gets the step graphs of the GPU-resident loop.
 */
import { sha256 } from 'hash-wasm';
import { StepGraphs } from '../diffusion/gpu-loop.js';
import { componentShapes, PromptCache, type GpuLoopSupport, type Sd3Pipeline } from '../diffusion/text-to-image.js';
import { WebDiffusionError } from '../errors.js';
import { readJson, type ModelSource } from '../models/model-source.js';
import {
  PACK_MANIFEST_FILE,
  parsePackManifest,
  type PackComponent,
  type PackComponentEntry,
  type PackFile,
  type PackManifest,
  type PackTokenizer,
} from '../models/pack-manifest.js';
import { configFromManifest, type Sd3Config } from '../models/sd3-config.js';
import type { BackendInfo, MemoryModePreference, ProgressEvent, Variant } from '../protocol.js';
import { chooseVariant, type BackendChoice } from '../runtime/backend.js';
import { chooseGuidanceBatching, sd3Workload } from '../runtime/guidance-batching.js';
import { chooseMemoryMode, readAheadPlan, type MemoryModeChoice } from '../runtime/memory-mode.js';
import type { ModelSession, SessionRunner } from '../runtime/session-runner.js';
import { ComponentSessions } from './component-sessions.js';
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

function missingNames(want: { inputs: string[]; outputs: string[] }, have: { inputs: readonly string[]; outputs: readonly string[] }): string[] {
  return [...want.inputs.filter((n) => !have.inputs.includes(n)).map((n) => `input ${n}`), ...want.outputs.filter((n) => !have.outputs.includes(n)).map((n) => `output ${n}`)];
}

/** The manifest's declared interface must cover what the pipeline feeds and reads (checked before any download). */
function checkDeclaredInterface(component: PackComponent, entry: PackComponentEntry, config: Sd3Config): void {
  const missing = missingNames(expectedInterface(component, config), entry);
  if (missing.length) {
    const field = `components.${component}.${missing[0]!.startsWith('input') ? 'inputs' : 'outputs'}`;
    throw new WebDiffusionError('MODEL_INVALID', `${PACK_MANIFEST_FILE}: field "${field}" lacks ${missing.join(', ')} that the SD3 pipeline needs.`, {
      hint: 'The pack was converted from a graph without the optimum SD3 interface.',
      details: { file: PACK_MANIFEST_FILE, field, component, missing },
    });
  }
}

/** The session must have the names the manifest promised (a mismatched pack fails here, not mid-generation). */
function checkSessionInterface(component: string, session: ModelSession, config: Sd3Config): void {
  const missing = missingNames(expectedInterface(component, config), { inputs: session.inputNames, outputs: session.outputNames });
  if (missing.length) {
    throw new WebDiffusionError('MODEL_INVALID', `${component}/ graph lacks ${missing.join(', ')}.`, {
      hint: 'The graph does not match its pack.json; re-convert the pack.',
      details: { component, inputs: session.inputNames, outputs: session.outputNames },
    });
  }
}

/** Whether a backend offers the WebGPU features a variant lists (WASM offers none). */
export function featuresSatisfied(required: readonly string[], backend: Pick<BackendChoice, 'kind' | 'shaderF16'>): boolean {
  return required.every((f) => f === 'shader-f16' && backend.kind === 'webgpu' && backend.shaderF16);
}

/**
 * The variant of one component to load on `backend`: among the variants whose required features
 * the backend has, the first in the backend's preference order (chooseVariant). Pure.
 */
export function chooseComponentVariant(component: string, entry: PackComponentEntry, backend: Pick<BackendChoice, 'kind' | 'shaderF16'>): Variant {
  const offered = Object.keys(entry.variants) as Variant[];
  const usable = offered.filter((v) => featuresSatisfied(entry.variants[v]!.requiresFeatures, backend));
  try {
    return chooseVariant(usable, backend);
  } catch (e) {
    const unusable = offered.filter((v) => !usable.includes(v));
    throw new WebDiffusionError(
      'MODEL_NOT_AVAILABLE',
      `${component}: this pack offers ${offered.join(', ')}; none runs on the ${backend.kind === 'webgpu' ? 'WebGPU' : 'WebAssembly'} backend here` +
        (unusable.length ? ` (${unusable.join(', ')} need${unusable.length === 1 ? 's' : ''} ${[...new Set(unusable.flatMap((v) => entry.variants[v]!.requiresFeatures))].join(', ')}).` : '.'),
      {
        hint: backend.kind === 'webgpu' && !backend.shaderF16 ? 'fp16 weights need a GPU with the shader-f16 feature; use a pack with q4 or fp32 variants.' : 'Use a pack with a q4 or fp32 variant.',
        details: { component, offered, usable, cause: e instanceof WebDiffusionError ? e.details : undefined },
      },
    );
  }
}

/** The components text-to-image loads (plus `extra`), in load order. */
export function pipelineComponents(m: PackManifest, extra: readonly PackComponent[] = []): PackComponent[] {
  const list: PackComponent[] = ['text_encoder', 'text_encoder_2', ...(m.architecture.hasT5 ? (['text_encoder_3'] as const) : []), 'transformer', 'vae_decoder'];
  for (const c of extra) if (!list.includes(c)) list.push(c);
  return list;
}

/** Per component, the variant to load on `backend` (pure; see chooseComponentVariant). */
export function chooseVariants(
  m: PackManifest,
  backend: Pick<BackendChoice, 'kind' | 'shaderF16'>,
  components: readonly PackComponent[] = pipelineComponents(m),
): Partial<Record<PackComponent, Variant>> {
  const chosen: Partial<Record<PackComponent, Variant>> = {};
  for (const c of components) {
    const entry = m.components[c];
    if (!entry) {
      throw new WebDiffusionError('MODEL_INVALID', `${PACK_MANIFEST_FILE}: field "components.${c}" is missing; the pipeline needs this component.`, {
        details: { file: PACK_MANIFEST_FILE, field: `components.${c}` },
      });
    }
    chosen[c] = chooseComponentVariant(c, entry, backend);
  }
  return chosen;
}

/** Reads and validates `pack.json`; a folder without one is not a pack. */
export async function readPackManifest(source: ModelSource): Promise<PackManifest> {
  let json: unknown;
  try {
    json = await readJson(source, PACK_MANIFEST_FILE);
  } catch (e) {
    if (e instanceof WebDiffusionError && e.code === 'MODEL_FILE_MISSING') {
      throw new WebDiffusionError('MODEL_FILE_MISSING', `No ${PACK_MANIFEST_FILE} in ${source.description}: ${e.message}`, {
        hint: 'Models load as packs (docs/model-pack.md). Convert an ONNX export with `npm run convert`; for the demo model run `npm run fixtures`.',
        details: { ...e.details, file: PACK_MANIFEST_FILE },
        cause: e,
      });
    }
    throw e;
  }
  return parsePackManifest(json);
}

/** Size and sha256 of a file's bytes against its manifest entry; MODEL_FILE_CORRUPT naming the file. */
export async function verifyPackFile(file: PackFile, data: Uint8Array, options: { hash?: boolean } = {}): Promise<void> {
  if (data.byteLength !== file.bytes) {
    throw new WebDiffusionError('MODEL_FILE_CORRUPT', `${file.path} has ${data.byteLength} bytes; ${PACK_MANIFEST_FILE} expects ${file.bytes}.`, {
      hint: 'The file is truncated or was replaced; delete the model and download it again.',
      details: { file: file.path, expectedBytes: file.bytes, actualBytes: data.byteLength },
    });
  }
  if (options.hash === false) return;
  const actual = await sha256(data);
  if (actual !== file.sha256) {
    throw new WebDiffusionError('MODEL_FILE_CORRUPT', `${file.path} has sha256 ${actual}; ${PACK_MANIFEST_FILE} expects ${file.sha256}.`, {
      hint: 'The file was damaged in transfer or storage; delete the model and download it again.',
      details: { file: file.path, expectedSha256: file.sha256, actualSha256: actual },
    });
  }
}

export interface LoadOptions {
  /** The backend the sessions run on: picks each component's variant. */
  backend: Pick<BackendChoice, 'kind' | 'shaderF16'> & Partial<Pick<BackendInfo, 'gpuLimits' | 'deviceMemoryGiB'>>;
  onProgress?: (e: ProgressEvent) => void;
  /** Components to load beyond text-to-image's needs (e.g. vae_encoder for img2img). */
  extra?: PackComponent[];
  /**
   * Check each file's sha256 against pack.json before use (default true). Sources that verified
   * the files already (the weight store, on install) pass false; byte sizes are always checked.
   */
  verifyHashes?: boolean;
  /** Memory mode (default auto: from the weights' size and the device). */
  memoryMode?: MemoryModePreference;
  /** Size and guidance the sessions are pinned to at load (default: the pack's recommended ones). */
  firstImage?: { width: number; height: number; guidance: number };
  /** Pin each session's symbolic axes to the shapes it is fed (default true). */
  staticShapes?: boolean;
  /** Run the denoising loop through the step graphs on device tensors (default: on a GPU runner); false runs the CPU loop. */
  gpuResidentLoop?: boolean;
}

export interface LoadedPack {
  pipeline: Sd3Pipeline;
  manifest: PackManifest;
  /** The variant loaded for each component. */
  variants: Partial<Record<PackComponent, Variant>>;
  memory: MemoryModeChoice;
  sessions: ComponentSessions;
}

const baseName = (path: string): string => path.slice(path.lastIndexOf('/') + 1);

/**
 * The files text-to-image reads for the chosen variants: the tokenizers (T5's when the pack has
 * it), then each chosen component variant's files. The installer stores exactly these.
 */
export function pipelineFiles(m: PackManifest, variants: Partial<Record<PackComponent, Variant>>): PackFile[] {
  const tokenizers: PackTokenizer[] = ['tokenizer', 'tokenizer_2', ...(m.architecture.hasT5 ? (['tokenizer_3'] as const) : [])];
  const files = tokenizers.flatMap((t) => m.tokenizers[t] ?? []);
  for (const [c, v] of Object.entries(variants) as [PackComponent, Variant][]) files.push(...m.components[c]!.variants[v]!.files);
  return files;
}

export async function loadSd3Pipeline(source: ModelSource, runner: SessionRunner, options: LoadOptions): Promise<LoadedPack> {
  const manifest = await readPackManifest(source);
  const config = configFromManifest(manifest);
  const components = pipelineComponents(manifest, options.extra);
  const variants = chooseVariants(manifest, options.backend, components);
  for (const c of components) checkDeclaredInterface(c, manifest.components[c]!, config);
  const verify = { hash: options.verifyHashes !== false };

  // Byte accounting for progress: the same files an install of this device's variants stores.
  const bytesTotal = pipelineFiles(manifest, variants).reduce((s, f) => s + f.bytes, 0);
  let bytesDone = 0;
  const total = components.length + 1;
  const progress = (component: string, done: number) => options.onProgress?.({ phase: 'loading', component, done, total, bytesDone, bytesTotal });

  const readVerified = async (file: PackFile): Promise<Uint8Array> => {
    const data = await source.readBytes(file.path);
    await verifyPackFile(file, data, verify);
    bytesDone += data.byteLength;
    return data;
  };

  const loadTokenizer = async (name: PackTokenizer, maxLength?: number): Promise<PromptTokenizer> => {
    const files = manifest.tokenizers[name]!;
    const find = (base: string): PackFile => {
      const f = files.find((x) => baseName(x.path) === base);
      if (!f) {
        throw new WebDiffusionError('MODEL_INVALID', `${PACK_MANIFEST_FILE}: field "tokenizers.${name}" does not list ${base}.`, {
          details: { file: PACK_MANIFEST_FILE, field: `tokenizers.${name}` },
        });
      }
      return f;
    };
    const [jsonFile, cfgFile] = [find('tokenizer.json'), find('tokenizer_config.json')];
    const [jsonBytes, cfgBytes] = await Promise.all([readVerified(jsonFile), readVerified(cfgFile)]);
    const parse = (f: PackFile, b: Uint8Array): object => {
      try {
        return JSON.parse(new TextDecoder().decode(b)) as object;
      } catch (e) {
        throw new WebDiffusionError('MODEL_INVALID', `${f.path} in ${source.description} is not valid JSON.`, { details: { file: f.path }, cause: e });
      }
    };
    try {
      return PromptTokenizer.fromJson(parse(jsonFile, jsonBytes), parse(cfgFile, cfgBytes), maxLength);
    } catch (e) {
      if (e instanceof WebDiffusionError) throw e;
      throw new WebDiffusionError('MODEL_INVALID', `${name}/: ${e instanceof Error ? e.message : e}`, { details: { file: jsonFile.path }, cause: e });
    }
  };

  progress('tokenizers', 0);
  const [tokL, tokG, tokT5] = await Promise.all([
    loadTokenizer('tokenizer'),
    loadTokenizer('tokenizer_2'),
    config.hasT5 ? loadTokenizer('tokenizer_3', config.t5Length) : Promise.resolve(null),
  ]);

  const sessions = new ComponentSessions(source, manifest, variants, runner, {
    verifyFile: (file, data) => verifyPackFile(file, data, verify),
    onBytes: (n) => (bytesDone += n),
    checkInterface: (component, session) => checkSessionInterface(component, session, config),
    staticShapes: options.staticShapes,
  });
  const memory = chooseMemoryMode(
    sessions.componentBytes(),
    { backend: options.backend.kind, deviceMemoryGiB: options.backend.deviceMemoryGiB, maxBufferSize: options.backend.gpuLimits?.maxBufferSize },
    options.memoryMode,
  );
  const transformerVariant = variants.transformer!;
  const gpu: GpuLoopSupport | undefined =
    (options.gpuResidentLoop ?? runner.device === 'gpu')
      ? {
          graphs: new StepGraphs(runner),
          guidancePlan: (width, height) => {
            const hidden = sessions.graph('transformer')?.patchEmbedWidth;
            if (!hidden) return 'batched';
            const bytesPerValue = transformerVariant === 'fp16' || transformerVariant === 'q4f16' ? 2 : 4;
            return chooseGuidanceBatching(sd3Workload(hidden, { width, height }, { bytesPerValue, textTokens: config.clipLength + config.t5Length }), options.backend.gpuLimits).plan;
          },
        }
      : undefined;
  const pipeline: Sd3Pipeline = {
    config,
    tokenizers: { clipL: tokL, clipG: tokG, t5: tokT5 },
    sessions,
    memoryMode: memory.mode,
    promptCache: new PromptCache(),
    ...(gpu ? { gpu } : {}),
  };
  try {
    if (memory.mode === 'fast') {
      // Every component now, pinned to the first image's size (another size re-pins on use).
      const { width, height, guidance } = options.firstImage ?? manifest.recommended;
      await sessions.describe('transformer');
      const plan = guidance > 1 ? (gpu ? gpu.guidancePlan(width, height) : 'batched') : 'single';
      const shapes = componentShapes(config, width, height, plan === 'batched' ? 2 : 1);
      const textShapes = componentShapes(config, width, height, 1);
      const order = [...components.filter((c) => c !== 'transformer' && c !== 'vae_decoder'), 'transformer', 'vae_decoder'] as const;
      // Each component's files are read while the one before it becomes a session, where that does not raise the load's peak memory.
      const bytes = sessions.componentBytes();
      const readAhead = readAheadPlan(order.map((c) => bytes[c] ?? 0));
      for (const [i, component] of order.entries()) {
        progress(component, i + 1);
        await sessions.prefetch(component);
        const next = order[i + 1];
        if (next && readAhead[i]) void sessions.prefetch(next);
        await sessions.get(component, component === 'transformer' || component === 'vae_decoder' ? shapes[component] : textShapes[component as 'text_encoder']);
      }
    } else {
      // Low memory: sessions load when a generation needs them; read the transformer's graph now for guidance batching.
      await sessions.describe('transformer');
    }
  } catch (e) {
    await releasePipeline(pipeline);
    throw e;
  }
  progress('done', total);
  return { manifest, variants, pipeline, memory, sessions };
}

export async function releasePipeline(p: Sd3Pipeline): Promise<void> {
  p.promptCache.clear();
  await Promise.all([p.sessions.releaseAll(), p.gpu?.graphs.release()]);
}
