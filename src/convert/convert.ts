/**
 * The converter driver: turns an SD3 ONNX export (optimum or Olive layout, from a folder or a URL)
 * into a browser model pack (docs/model-pack.md). Runs unchanged in Node (CLI) and in a browser worker.
 *
 * Per component and variant: read the graph, map its I/O names onto the contract (layouts.ts), plan
 * the output graph (plan.ts: structure and tensor metadata only), then materialize the planned
 * initializers one at a time, reading source tensors by byte range, and stream them into shards
 * (`model_q4.onnx_data`, `_data_1`, … each ≤ shardBytes). Memory holds the graphs and a few tensors,
 * never a whole weight file. Every file is hashed while it streams; a `.convert-state.json` records
 * finished files so that a rerun skips them; `pack.json` is written last.
 */
import onnxProto from 'onnx-proto';
import { createSHA256 } from 'hash-wasm';
import { WebDiffusionError } from '../errors.js';
import {
  PACK_COMPONENTS,
  PACK_MANIFEST_FILE,
  PACK_SCHEMA_VERSION,
  parsePackManifest,
  type PackComponent,
  type PackComponentEntry,
  type PackFile,
  type PackManifest,
  type PackTokenizer,
} from '../models/pack-manifest.js';
import { readSd3Config, type Sd3Config } from '../models/sd3-config.js';
import type { Variant } from '../protocol.js';
import { buildClipTokenizerJson, withSd3PadToken } from './clip-tokenizer-json.js';
import { checkOperators, detectLayout, mapInterface, renameTensors, type DetectedLayout, type LayoutComponent } from './layouts.js';
import { sha256OfStream, type PackSink } from './pack-sink.js';
import { materialize, planConversion } from './plan.js';
import type { ConversionPlan, ModelProto, PlannedInitializer, PlanOptions, ReadSourceTensor, SourceTensorInfo, TensorRecipe } from './plan-types.js';
import { asModelSource, type ConvertSource } from './sources.js';

const { onnx } = onnxProto;

export const CONVERTER_VERSION = 1;
export const CONVERTER_NAME = `webdiffusion converter v${CONVERTER_VERSION}`;
export const CONVERT_STATE_FILE = '.convert-state.json';
export const DEFAULT_SHARD_BYTES = 512 * 1024 * 1024;

/** The planner the driver calls (plan.ts); replaceable in tests. */
export interface Planner {
  planConversion(model: ModelProto, tensorInfos: Map<string, SourceTensorInfo>, options: PlanOptions): ConversionPlan;
  materialize(recipe: TensorRecipe, read: ReadSourceTensor, tensorInfos: Map<string, SourceTensorInfo>): Promise<Uint8Array>;
}

export const DEFAULT_PLANNER: Planner = { planConversion, materialize };

export interface ConvertProgress {
  /** reading: graphs and plans; converting: tensors into shards; copying: tokenizers and configs; verifying: re-hashing files a resumed run keeps. */
  phase: 'reading' | 'converting' | 'copying' | 'verifying' | 'done';
  component: string;
  variant: Variant | null;
  /** The file being written or checked. */
  file?: string;
  tensorsDone: number;
  tensorsTotal: number;
  /** Output bytes (written, or kept from an earlier run) out of the pack's total. */
  bytesDone: number;
  bytesTotal: number;
  /** Estimated time left from this run's throughput; null before there is a rate. */
  etaMs: number | null;
}

export interface ConvertOptions {
  variants: Variant[];
  /** Components to convert (default: every one the source has). Others come from an earlier run in the same output, or are left out (optional ones only; leaving out text_encoder_3 makes a pack without T5). */
  components?: string[];
  /** Maximum bytes per external-data shard (default 512 MiB; a single larger tensor gets a shard of its own). */
  shardBytes?: number;
  /** Initializers smaller than this stay inside the .onnx (default 1024). */
  inlineBelow?: number;
  onProgress?(e: ConvertProgress): void;
  /** Skip files an earlier run finished (default true). */
  resume?: boolean;
  signal?: AbortSignal;
  id?: string;
  name?: string;
  license?: { name: string; url: string };
  repository?: string;
  revision?: string;
  /** Recommended steps/guidance/size (default: SD 3.5 Medium's card, 40 steps, guidance 4.5, the model's default size). */
  recommended?: Partial<PackManifest['recommended']>;
  /**
   * Called once the output size is estimated (every graph read and planned) and before anything is
   * written: throw (e.g. STORAGE_FULL) to stop the conversion with nothing written.
   */
  beforeWrite?(estimate: { bytes: number }): Promise<void> | void;
  /** Planner options shared by every component (blockSize, fp32 node lists, pos-embed crop). */
  plan?: Omit<PlanOptions, 'variant'>;
  planner?: Planner;
}

const STABILITY_LICENSE = { name: 'Stability AI Community License', url: 'https://stability.ai/community-license-agreement' };
const REQUIRED: PackComponent[] = ['text_encoder', 'text_encoder_2', 'transformer', 'vae_decoder'];

// ------------------------------------------------------------------------------------- helpers

const ELEMENT_BYTES: Record<number, number> = { 1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 16: 2 };

function elementBytes(dataType: number, what: string): number {
  const n = ELEMENT_BYTES[dataType];
  if (n === undefined) throw new WebDiffusionError('MODEL_INVALID', `${what}: tensor data type ${dataType} is not supported by the converter.`, { details: { tensor: what, dataType } });
  return n;
}

const count = (dims: number[]): number => dims.reduce((a, b) => a * b, 1);

function plannedBytes(p: PlannedInitializer): number {
  return p.recipe.kind === 'literal' ? p.recipe.bytes.byteLength : count(p.dims) * elementBytes(p.dataType, p.name);
}

const num = (v: number | { toNumber(): number } | null | undefined): number => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());

async function sha256Hex(data: Uint8Array | string): Promise<string> {
  const h = await createSHA256();
  h.init();
  h.update(data);
  return h.digest('hex');
}

const encodeJson = (value: unknown): Uint8Array => new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);

/** Raw little-endian bytes of an inline TensorProto (raw_data or the typed fields). */
function inlineBytes(t: onnxProto.onnx.ITensorProto, dims: number[], dataType: number): Uint8Array {
  if (t.rawData && t.rawData.byteLength) return t.rawData;
  const n = count(dims);
  const T = onnx.TensorProto.DataType;
  const buf = new ArrayBuffer(n * elementBytes(dataType, t.name ?? '?'));
  const view = new DataView(buf);
  const ints = (t.int32Data ?? []) as number[];
  switch (dataType) {
    case T.FLOAT:
      (t.floatData ?? []).forEach((v, i) => view.setFloat32(i * 4, v, true));
      break;
    case T.DOUBLE:
      (t.doubleData ?? []).forEach((v, i) => view.setFloat64(i * 8, v, true));
      break;
    case T.INT64:
      (t.int64Data ?? []).forEach((v, i) => view.setBigInt64(i * 8, BigInt(String(v)), true));
      break;
    case T.UINT64:
    case T.UINT32:
      (t.uint64Data ?? []).forEach((v, i) => (dataType === T.UINT32 ? view.setUint32(i * 4, num(v), true) : view.setBigUint64(i * 8, BigInt(String(v)), true)));
      break;
    case T.INT32:
      ints.forEach((v, i) => view.setInt32(i * 4, v, true));
      break;
    case T.INT16:
    case T.UINT16:
    case T.FLOAT16:
    case T.BFLOAT16:
      ints.forEach((v, i) => view.setUint16(i * 2, v & 0xffff, true));
      break;
    case T.INT8:
    case T.UINT8:
    case T.BOOL:
      ints.forEach((v, i) => view.setUint8(i, v & 0xff));
      break;
    default:
      throw new WebDiffusionError('MODEL_INVALID', `tensor ${t.name}: data type ${dataType} is not supported by the converter.`, { details: { tensor: t.name } });
  }
  return new Uint8Array(buf);
}

type TensorLocation = { kind: 'inline'; bytes: Uint8Array } | { kind: 'external'; file: string; offset: number; length: number };

interface SourceGraph {
  model: ModelProto;
  infos: Map<string, SourceTensorInfo>;
  locations: Map<string, TensorLocation>;
  /** External-data files (source paths) → byte size. */
  externalFiles: Map<string, number>;
}

function decodeGraph(bytes: Uint8Array, file: string): ModelProto {
  try {
    return onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new WebDiffusionError('MODEL_INVALID', `${file} is not a valid ONNX model.`, { details: { file }, cause: e });
  }
}

/** Decodes a component's graph, renames its I/O to the contract and indexes its initializers. */
async function readSourceGraph(source: ConvertSource, lc: LayoutComponent, graphBytes: Uint8Array, sizes?: Map<string, number>): Promise<SourceGraph> {
  const model = decodeGraph(graphBytes, lc.graph);
  const mapped = mapInterface(lc.component, model);
  renameTensors(model, mapped.renames);
  const infos = new Map<string, SourceTensorInfo>();
  const locations = new Map<string, TensorLocation>();
  const externalFiles = new Map<string, number>(sizes ?? []);
  for (const t of model.graph?.initializer ?? []) {
    const name = t.name ?? '';
    const dims = (t.dims ?? []).map(num);
    const dataType = t.dataType ?? 0;
    infos.set(name, { name, dims, dataType });
    if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
      const entry = (k: string) => t.externalData?.find((e) => e.key === k)?.value;
      const loc = entry('location');
      if (!loc || loc.includes('..') || loc.startsWith('/')) {
        throw new WebDiffusionError('MODEL_INVALID', `${lc.graph}: tensor ${name} has an unusable external-data location "${loc ?? ''}".`, { details: { file: lc.graph, tensor: name } });
      }
      const file = `${lc.folder}/${loc}`;
      const offset = Number(entry('offset') ?? 0);
      const length = entry('length') !== undefined ? Number(entry('length')) : count(dims) * elementBytes(dataType, name);
      if (!externalFiles.has(file)) {
        const size = await source.size(file);
        if (size === null) {
          throw new WebDiffusionError('MODEL_FILE_MISSING', `${source.description}: ${file} is missing (external data of ${lc.component}, tensor ${name}).`, {
            hint: 'The export is incomplete: download every file of the component folder.',
            details: { file, component: lc.component, tensor: name },
          });
        }
        externalFiles.set(file, size);
      }
      if (offset + length > externalFiles.get(file)!) {
        throw new WebDiffusionError('MODEL_INVALID', `${file} is ${externalFiles.get(file)} bytes, but tensor ${name} needs bytes ${offset}..${offset + length}.`, {
          hint: 'The external-data file is truncated or belongs to another graph.',
          details: { file, tensor: name, offset, length },
        });
      }
      locations.set(name, { kind: 'external', file, offset, length });
      t.externalData = [];
      t.dataLocation = onnx.TensorProto.DataLocation.DEFAULT;
    } else {
      locations.set(name, { kind: 'inline', bytes: inlineBytes(t, dims, dataType) });
    }
  }
  return { model, infos, locations, externalFiles };
}

/**
 * Reads source tensors for a sequence of recipes: keeps a tensor only while later recipes still need
 * it (and at most `maxCached` at once), so q4 weight and scale recipes share one read.
 */
class TensorReader {
  private readonly cache = new Map<string, Uint8Array>();
  private readonly uses = new Map<string, number>();
  sourceBytesRead = 0;

  constructor(
    private readonly source: ConvertSource,
    private readonly graph: SourceGraph,
    recipes: TensorRecipe[],
    private readonly maxCached = 3,
  ) {
    for (const r of recipes) if (r.kind !== 'literal') this.uses.set(r.source, (this.uses.get(r.source) ?? 0) + 1);
  }

  /**
   * Reads a source tensor; every read counts as one use. One stable function per reader, so that
   * materialize()'s per-reader cache lets a q4 weight and its scales share one quantization.
   */
  readonly read: ReadSourceTensor = async (name) => {
      const left = (this.uses.get(name) ?? 1) - 1;
      this.uses.set(name, left);
      const hit = this.cache.get(name);
      if (hit) {
        if (left <= 0) this.cache.delete(name);
        return hit;
      }
      const loc = this.graph.locations.get(name);
      if (!loc) throw new WebDiffusionError('INTERNAL', `The plan refers to a source tensor "${name}" that the graph does not have.`, { details: { tensor: name } });
      const bytes = loc.kind === 'inline' ? loc.bytes : await this.source.readRange(loc.file, loc.offset, loc.length);
      this.sourceBytesRead += bytes.byteLength;
      if (left > 0) {
        this.cache.set(name, bytes);
        while (this.cache.size > this.maxCached) this.cache.delete(this.cache.keys().next().value!);
      }
      return bytes;
  };
}

// --------------------------------------------------------------------------------------- state

interface StateFile {
  bytes: number;
  sha256: string;
  key: string;
}

interface ConvertState {
  version: number;
  files: Record<string, StateFile>;
  /** Manifest entries of finished components (kept when a rerun leaves them out of `components`). */
  components: Partial<Record<PackComponent, PackComponentEntry>>;
}

async function readState(sink: PackSink): Promise<ConvertState> {
  const empty: ConvertState = { version: CONVERTER_VERSION, files: {}, components: {} };
  const bytes = await sink.read(CONVERT_STATE_FILE);
  if (!bytes) return empty;
  try {
    const s = JSON.parse(new TextDecoder().decode(bytes)) as ConvertState;
    return s.version === CONVERTER_VERSION && s.files && s.components ? s : empty;
  } catch {
    return empty;
  }
}

// -------------------------------------------------------------------------------------- driver

interface ShardEntry {
  init: PlannedInitializer;
  bytes: number;
  offset: number;
  pad: number;
}

interface VariantLayout {
  inline: PlannedInitializer[];
  shards: { name: string; entries: ShardEntry[]; bytes: number }[];
}

function layoutShards(plan: ConversionPlan, variant: Variant, shardBytes: number, inlineBelow: number): VariantLayout {
  const base = variant === 'fp32' ? 'model.onnx_data' : `model_${variant}.onnx_data`;
  const inline: PlannedInitializer[] = [];
  const shards: VariantLayout['shards'] = [];
  let current: VariantLayout['shards'][number] | null = null;
  for (const init of plan.initializers) {
    const bytes = plannedBytes(init);
    if (bytes < inlineBelow) {
      inline.push(init);
      continue;
    }
    const align = bytes >= 1 << 20 ? 4096 : 64;
    let pad = current ? (align - (current.bytes % align)) % align : 0;
    if (!current || (current.bytes > 0 && current.bytes + pad + bytes > shardBytes)) {
      current = { name: shards.length === 0 ? base : `${base}_${shards.length}`, entries: [], bytes: 0 };
      shards.push(current);
      pad = 0;
    }
    current.entries.push({ init, bytes, offset: current.bytes + pad, pad });
    current.bytes += pad + bytes;
  }
  return { inline, shards };
}

function graphInterface(model: ModelProto): { inputs: string[]; outputs: string[] } {
  const inits = new Set((model.graph?.initializer ?? []).map((t) => t.name));
  return {
    inputs: (model.graph?.input ?? []).map((v) => v.name ?? '').filter((n) => n && !inits.has(n)),
    outputs: (model.graph?.output ?? []).map((v) => v.name ?? ''),
  };
}

/** Bytes of the tokenizer, scheduler and config files a pack copies from the source (an estimate for the space check). */
async function smallFileBytes(source: ConvertSource, layout: DetectedLayout, hasT5: boolean): Promise<number> {
  const paths = ['model_index.json', 'scheduler/scheduler_config.json', ...PACK_COMPONENTS.map((c) => layout.sourcePath(`${c}/config.json`))];
  for (const t of ['tokenizer', 'tokenizer_2', ...(hasT5 ? ['tokenizer_3'] : [])]) {
    paths.push(`${t}/tokenizer_config.json`, `${t}/tokenizer.json`, `${t}/vocab.json`, `${t}/merges.txt`);
  }
  let total = 0;
  for (const p of paths) total += (await source.size(p)) ?? 0;
  return total;
}

interface Job {
  lc: LayoutComponent;
  graphBytes: Uint8Array | null;
  graphSha: string;
  externalSizes: Map<string, number>;
  variants: { variant: Variant; bytes: number; tensors: number; key: string }[];
}

export async function convertToPack(source: ConvertSource, sink: PackSink, options: ConvertOptions): Promise<PackManifest> {
  const planner = options.planner ?? DEFAULT_PLANNER;
  const shardBytes = options.shardBytes ?? DEFAULT_SHARD_BYTES;
  const inlineBelow = options.inlineBelow ?? 1024;
  const variants = [...new Set(options.variants)];
  if (variants.length === 0) throw new WebDiffusionError('INVALID_REQUEST', 'Choose at least one variant (fp32, fp16, q4, q4f16).');
  if (!(shardBytes > 0)) throw new WebDiffusionError('INVALID_REQUEST', `shardBytes must be positive (got ${shardBytes}).`);
  const checkAbort = (): void => {
    if (options.signal?.aborted) throw new WebDiffusionError('CANCELLED', 'The conversion was cancelled.');
  };

  // ---- source layout and configs
  const layout: DetectedLayout = await detectLayout(source);
  const config: Sd3Config = await readSd3Config(asModelSource(source, layout.sourcePath));
  const present = new Set(layout.components.map((c) => c.component));
  const wanted = options.components ?? layout.components.map((c) => c.component);
  for (const c of wanted) {
    if (!(PACK_COMPONENTS as readonly string[]).includes(c)) {
      throw new WebDiffusionError('INVALID_REQUEST', `Unknown component "${c}" (known: ${PACK_COMPONENTS.join(', ')}).`, { details: { component: c } });
    }
    if (!present.has(c as PackComponent)) {
      throw new WebDiffusionError('MODEL_FILE_MISSING', `${source.description} has no ${c} component.`, { details: { component: c } });
    }
  }
  const resume = options.resume ?? true;
  const state = resume ? await readState(sink) : { version: CONVERTER_VERSION, files: {}, components: {} };
  const toConvert = layout.components.filter((c) => wanted.includes(c.component));
  const fromEarlier = PACK_COMPONENTS.filter((c) => !wanted.includes(c) && state.components[c]);
  for (const c of REQUIRED) {
    if (!wanted.includes(c) && !state.components[c]) {
      throw new WebDiffusionError('INVALID_REQUEST', `Component ${c} is neither converted now nor present from an earlier run in ${sink.description}.`, {
        hint: 'Include it in the component list (a pack needs text_encoder, text_encoder_2, transformer and vae_decoder).',
        details: { component: c },
      });
    }
  }
  const includes = (c: PackComponent): boolean => wanted.includes(c) || fromEarlier.includes(c);
  const hasT5 = config.hasT5 && includes('text_encoder_3');

  // ---- progress
  let tensorsTotal = 0;
  let tensorsDone = 0;
  let bytesTotal = 0;
  let bytesDone = 0;
  let bytesKept = 0;
  const t0 = Date.now();
  const report = (phase: ConvertProgress['phase'], component: string, variant: Variant | null, file?: string): void => {
    if (!options.onProgress) return;
    const worked = bytesDone - bytesKept;
    const elapsed = Date.now() - t0;
    const etaMs = worked > 0 && elapsed > 0 ? ((bytesTotal - bytesDone) * elapsed) / worked : null;
    options.onProgress({ phase, component, variant, file, tensorsDone, tensorsTotal, bytesDone, bytesTotal, etaMs });
  };

  // ---- pass 1: read every graph, map names, plan each variant (errors surface before any long work)
  const planOptions = (variant: Variant): PlanOptions => ({ ...options.plan, variant });
  const jobs: Job[] = [];
  for (const lc of toConvert) {
    checkAbort();
    report('reading', lc.component, null, lc.graph);
    const graphBytes = await source.read(lc.graph);
    const graphSha = await sha256Hex(graphBytes);
    const job: Job = { lc, graphBytes: graphBytes.byteLength <= 64 << 20 ? graphBytes : null, graphSha, externalSizes: new Map(), variants: [] };
    for (const variant of variants) {
      const g = await readSourceGraph(source, lc, graphBytes, job.externalSizes);
      job.externalSizes = g.externalFiles;
      const plan = planner.planConversion(g.model, g.infos, planOptions(variant));
      checkOperators(lc.component, plan.model);
      const bytes = plan.initializers.reduce((a, p) => a + plannedBytes(p), 0);
      const key = await sha256Hex(
        JSON.stringify({
          converter: CONVERTER_VERSION,
          variant,
          graphSha,
          external: [...g.externalFiles].sort(),
          shardBytes,
          inlineBelow,
          plan: options.plan ?? {},
        }),
      );
      job.variants.push({ variant, bytes, tensors: plan.initializers.length, key });
      tensorsTotal += plan.initializers.length;
      bytesTotal += bytes;
    }
    jobs.push(job);
  }

  // Output size before any write: planned tensors, the graphs (about their source size) and the small files copied.
  if (options.beforeWrite) {
    let graphs = 0;
    for (const job of jobs) graphs += (job.graphBytes?.byteLength ?? (await source.size(job.lc.graph)) ?? 0) * job.variants.length;
    await options.beforeWrite({ bytes: bytesTotal + graphs + (await smallFileBytes(source, layout, hasT5)) });
  }
  checkAbort();
  // A pack without pack.json is never taken for a complete one: drop it until this run ends.
  await sink.remove(PACK_MANIFEST_FILE);

  const newState: ConvertState = { version: CONVERTER_VERSION, files: {}, components: {} };
  for (const c of fromEarlier) {
    const entry = state.components[c]!;
    newState.components[c] = entry;
    for (const v of Object.values(entry.variants)) for (const f of v?.files ?? []) if (state.files[f.path]) newState.files[f.path] = state.files[f.path]!;
  }
  const saveState = async (): Promise<void> => {
    await sink.write(CONVERT_STATE_FILE, encodeJson(newState));
  };

  /** True when an earlier run finished `path` with the same key and the file still has its size and hash. */
  const keep = async (path: string, key: string, component: string, variant: Variant | null): Promise<StateFile | null> => {
    const rec = state.files[path];
    if (!resume || !rec || rec.key !== key) return null;
    if ((await sink.size(path)) !== rec.bytes) return null;
    report('verifying', component, variant, path);
    const { sha256 } = await sha256OfStream(sink.readStream(path));
    return sha256 === rec.sha256 ? rec : null;
  };

  /** Writes a small file unless an earlier run already wrote these exact bytes. */
  const putSmall = async (path: string, data: Uint8Array, component: string): Promise<PackFile> => {
    const sha256 = await sha256Hex(data);
    const kept = await keep(path, sha256, component, null);
    if (kept) {
      newState.files[path] = kept;
      return { path, bytes: kept.bytes, sha256: kept.sha256 };
    }
    const r = await sink.write(path, data);
    newState.files[path] = { ...r, key: sha256 };
    await saveState();
    return { path, bytes: r.bytes, sha256: r.sha256 };
  };

  // ---- pass 2: convert
  const componentEntries: Partial<Record<PackComponent, PackComponentEntry>> = {};
  for (const job of jobs) {
    const { lc } = job;
    const graphBytes = job.graphBytes ?? (await source.read(lc.graph));
    const entry: PackComponentEntry = { inputs: [], outputs: [], variants: {} };
    for (const vj of job.variants) {
      checkAbort();
      const g = await readSourceGraph(source, lc, graphBytes, job.externalSizes);
      const plan = planner.planConversion(g.model, g.infos, planOptions(vj.variant));
      const io = graphInterface(plan.model);
      entry.inputs = io.inputs;
      entry.outputs = io.outputs;
      const { inline, shards } = layoutShards(plan, vj.variant, shardBytes, inlineBelow);
      const files: PackFile[] = [];

      const materializeOne = async (reader: TensorReader, init: PlannedInitializer, expected: number): Promise<Uint8Array> => {
        const bytes = await planner.materialize(init.recipe, reader.read, g.infos);
        if (bytes.byteLength !== expected) {
          throw new WebDiffusionError('INTERNAL', `${lc.component}: tensor ${init.name} came out ${bytes.byteLength} bytes, expected ${expected} for [${init.dims}] of type ${init.dataType}.`, {
            details: { component: lc.component, tensor: init.name },
          });
        }
        return bytes;
      };

      // Shards: each streamed tensor by tensor into the sink.
      for (const shard of shards) {
        const path = `${lc.component}/${shard.name}`;
        const kept = await keep(path, vj.key, lc.component, vj.variant);
        if (kept) {
          newState.files[path] = kept;
          files.push({ path, bytes: kept.bytes, sha256: kept.sha256 });
          tensorsDone += shard.entries.length;
          bytesDone += shard.entries.reduce((a, e) => a + e.bytes, 0);
          bytesKept += shard.entries.reduce((a, e) => a + e.bytes, 0);
          report('converting', lc.component, vj.variant, path);
          continue;
        }
        const reader = new TensorReader(source, g, shard.entries.map((e) => e.init.recipe));
        const chunks = async function* (): AsyncIterable<Uint8Array> {
          for (const e of shard.entries) {
            checkAbort();
            if (e.pad) yield new Uint8Array(e.pad);
            yield await materializeOne(reader, e.init, e.bytes);
            tensorsDone++;
            bytesDone += e.bytes;
            report('converting', lc.component, vj.variant, path);
          }
        };
        const r = await sink.write(path, chunks());
        if (r.bytes !== shard.bytes) throw new WebDiffusionError('INTERNAL', `${path}: wrote ${r.bytes} bytes, planned ${shard.bytes}.`);
        newState.files[path] = { ...r, key: vj.key };
        files.push({ path, bytes: r.bytes, sha256: r.sha256 });
        await saveState();
      }

      // The graph: planned model + initializers (small ones inline, the rest pointing into the shards).
      const inlineReader = new TensorReader(source, g, inline.map((i) => i.recipe));
      const initializer: onnxProto.onnx.ITensorProto[] = [];
      const inlineData = new Map<string, Uint8Array>();
      for (const init of inline) {
        inlineData.set(init.name, await materializeOne(inlineReader, init, plannedBytes(init)));
        tensorsDone++;
        bytesDone += plannedBytes(init);
      }
      const externalOf = new Map<string, { location: string; offset: number; length: number }>();
      for (const shard of shards) for (const e of shard.entries) externalOf.set(e.init.name, { location: shard.name, offset: e.offset, length: e.bytes });
      for (const init of plan.initializers) {
        const ext = externalOf.get(init.name);
        initializer.push(
          ext
            ? {
                name: init.name,
                dims: init.dims,
                dataType: init.dataType,
                dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
                externalData: [
                  { key: 'location', value: ext.location },
                  { key: 'offset', value: String(ext.offset) },
                  { key: 'length', value: String(ext.length) },
                ],
              }
            : { name: init.name, dims: init.dims, dataType: init.dataType, rawData: inlineData.get(init.name)! },
        );
      }
      const model = plan.model;
      model.graph = { ...model.graph, initializer };
      const onnxFile = await putSmall(`${lc.component}/${vj.variant === 'fp32' ? 'model.onnx' : `model_${vj.variant}.onnx`}`, onnx.ModelProto.encode(model).finish(), lc.component);
      report('converting', lc.component, vj.variant, onnxFile.path);
      entry.variants[vj.variant] = { files: [onnxFile, ...files], requiresFeatures: vj.variant === 'fp16' || vj.variant === 'q4f16' ? ['shader-f16'] : [] };
    }
    componentEntries[lc.component] = entry;
    newState.components[lc.component] = entry;
    await saveState();
  }

  // ---- tokenizers, scheduler, configs
  report('copying', 'tokenizers', null);
  const tokenizers: Partial<Record<PackTokenizer, PackFile[]>> = {};
  const wantTokenizers: PackTokenizer[] = ['tokenizer', 'tokenizer_2', ...(hasT5 ? (['tokenizer_3'] as const) : [])];
  const readJsonFrom = async (path: string): Promise<Record<string, unknown> | null> => {
    if ((await source.size(path)) === null) return null;
    const bytes = await source.read(path);
    try {
      return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
    } catch (e) {
      throw new WebDiffusionError('MODEL_INVALID', `${path} in ${source.description} is not valid JSON.`, { details: { file: path }, cause: e });
    }
  };
  for (const t of wantTokenizers) {
    const cfg = await readJsonFrom(`${t}/tokenizer_config.json`);
    let tokJson: Uint8Array;
    if ((await source.size(`${t}/tokenizer.json`)) !== null) tokJson = await source.read(`${t}/tokenizer.json`);
    else if (t !== 'tokenizer_3' && (await source.size(`${t}/vocab.json`)) !== null && (await source.size(`${t}/merges.txt`)) !== null) {
      const vocab = (await readJsonFrom(`${t}/vocab.json`)) as Record<string, number>;
      const merges = new TextDecoder().decode(await source.read(`${t}/merges.txt`));
      tokJson = encodeJson(buildClipTokenizerJson(vocab, merges, cfg ?? {}, t));
    } else {
      throw new WebDiffusionError('MODEL_FILE_MISSING', `${source.description} lacks ${t}/tokenizer.json${t === 'tokenizer_3' ? '' : ' (and vocab.json + merges.txt to build it from)'}.`, {
        hint: t === 'tokenizer_3' ? 'The T5 tokenizer must be a fast tokenizer (tokenizer.json).' : 'Copy the CLIP tokenizer files of the model into the export.',
        details: { file: `${t}/tokenizer.json` },
      });
    }
    let cfgBytes: Uint8Array;
    const padded = t === 'tokenizer_3' ? null : withSd3PadToken(cfg, t);
    if (padded) cfgBytes = encodeJson(padded);
    else if (cfg) cfgBytes = await source.read(`${t}/tokenizer_config.json`);
    else throw new WebDiffusionError('MODEL_FILE_MISSING', `${source.description} lacks ${t}/tokenizer_config.json.`, { details: { file: `${t}/tokenizer_config.json` } });
    tokenizers[t] = [await putSmall(`${t}/tokenizer.json`, tokJson, t), await putSmall(`${t}/tokenizer_config.json`, cfgBytes, t)];
  }

  report('copying', 'configs', null);
  const extraFiles: PackFile[] = [];
  let modelIndex = await source.read('model_index.json');
  if (config.hasT5 && !hasT5) {
    const index = (await readJsonFrom('model_index.json'))!;
    modelIndex = encodeJson({ ...index, text_encoder_3: [null, null], tokenizer_3: [null, null] });
  }
  extraFiles.push(await putSmall('model_index.json', modelIndex, 'configs'));
  extraFiles.push(await putSmall('scheduler/scheduler_config.json', await source.read('scheduler/scheduler_config.json'), 'configs'));
  const packComponents = PACK_COMPONENTS.filter((c) => (c === 'text_encoder_3' ? hasT5 : includes(c)));
  for (const c of packComponents) {
    const src = layout.sourcePath(`${c}/config.json`);
    if ((await source.size(src)) === null) {
      if (c === 'vae_encoder') continue;
      throw new WebDiffusionError('MODEL_FILE_MISSING', `${source.description} lacks ${src}.`, { details: { file: src, component: c } });
    }
    extraFiles.push(await putSmall(`${c}/config.json`, await source.read(src), 'configs'));
  }

  // ---- pack.json, last
  const multipleOf = config.vae.scaleFactor * config.transformer.patchSize;
  const table = options.plan?.cropPosEmbedTo ?? config.transformer.posEmbedMaxSize;
  const maxSide = Math.min(table, config.transformer.posEmbedMaxSize) * multipleOf;
  const minSide = Math.min(multipleOf * 4, maxSide);
  const defSide = Math.max(minSide, Math.min(config.transformer.sampleSize * config.vae.scaleFactor, maxSide));
  const components = Object.fromEntries(packComponents.map((c) => [c, componentEntries[c] ?? state.components[c]!]));
  const manifest = parsePackManifest(
    {
      schemaVersion: PACK_SCHEMA_VERSION,
      id: options.id ?? 'converted-sd3',
      name: options.name ?? 'Converted SD3 model',
      license: options.license ?? STABILITY_LICENSE,
      source: {
        ...(options.repository ?? /^https?:/.test(source.description) ? { repository: options.repository ?? source.description } : {}),
        ...(options.revision ? { revision: options.revision } : {}),
        layout: layout.layout,
        converter: CONVERTER_NAME,
      },
      architecture: {
        family: 'sd3',
        latentChannels: config.vae.latentChannels,
        vaeScaleFactor: config.vae.scaleFactor,
        vaeScalingFactor: config.vae.scalingFactor,
        vaeShiftFactor: config.vae.shiftFactor,
        patchSize: config.transformer.patchSize,
        jointAttentionDim: config.transformer.jointAttentionDim,
        pooledProjectionDim: config.transformer.pooledProjectionDim,
        clipLayers: { text_encoder: config.clipL.layers, text_encoder_2: config.clipG.layers },
        clipLength: config.clipLength,
        hasT5,
        t5Length: config.t5Length,
        sampleSize: { min: minSide, max: maxSide, default: defSide },
        scheduler: { shift: config.scheduler.shift, numTrainTimesteps: config.scheduler.numTrainTimesteps },
      },
      recommended: { steps: 40, guidance: 4.5, width: defSide, height: defSide, ...options.recommended },
      components,
      tokenizers,
      extraFiles,
    },
    `converted ${PACK_MANIFEST_FILE}`,
  );
  await saveState();
  await sink.write(PACK_MANIFEST_FILE, encodeJson(manifest));
  report('done', 'pack', null, PACK_MANIFEST_FILE);
  return manifest;
}
