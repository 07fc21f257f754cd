/**
 * Source layouts the converter understands, and the mapping of each graph's input and output names
 * onto the pack contract (SD35_CONTRACT.md §3.3, §5.1).
 *
 * - optimum: `transformer/model.onnx` + `model.onnx_data` (names already the contract's).
 * - Olive/DirectML (TensorStack, stabilityai `_amdgpu`): the transformer lives in `unet/`, external
 *   data is named `model.onnx.data`, graphs may hold com.microsoft fused ops. Their I/O names are
 *   **UNCONFIRMED** (contract §3.3, §10): the aliases below are plausible guesses taken from Olive's
 *   Stable Diffusion examples (`sample`, `out_sample`, `latent_sample`), not read from a real export.
 *   A graph whose names are not in the table is refused with a message naming the tensor.
 */
import type onnxProto from 'onnx-proto';
import { WebDiffusionError } from '../errors.js';
import { PACK_COMPONENTS, type PackComponent } from '../models/pack-manifest.js';
import type { ModelProto } from './plan-types.js';
import type { ConvertSource } from './sources.js';

export type SourceLayout = 'optimum' | 'olive';

export interface LayoutComponent {
  component: PackComponent;
  /** Folder in the source ("unet" for an Olive transformer). */
  folder: string;
  /** The graph file in the source. */
  graph: string;
}

export interface DetectedLayout {
  layout: SourceLayout;
  components: LayoutComponent[];
  /** Source path of a pack path (`transformer/config.json` → `unet/config.json` for Olive). */
  sourcePath(packPath: string): string;
}

const GRAPH = 'model.onnx';

/** Reads which layout `source` has and which components it holds. */
export async function detectLayout(source: ConvertSource): Promise<DetectedLayout> {
  const has = async (p: string): Promise<boolean> => (await source.size(p)) !== null;
  let layout: SourceLayout;
  if (await has(`transformer/${GRAPH}`)) layout = 'optimum';
  else if (await has(`unet/${GRAPH}`)) layout = 'olive';
  else {
    throw new WebDiffusionError('MODEL_FILE_MISSING', `${source.description} holds neither transformer/${GRAPH} (optimum layout) nor unet/${GRAPH} (Olive layout).`, {
      hint: 'Point the converter at the root of an SD3 ONNX export (the folder with model_index.json).',
      details: { file: `transformer/${GRAPH}` },
    });
  }
  const folderOf = (c: PackComponent): string => (c === 'transformer' && layout === 'olive' ? 'unet' : c);
  const components: LayoutComponent[] = [];
  const required: PackComponent[] = ['text_encoder', 'text_encoder_2', 'transformer', 'vae_decoder'];
  for (const c of PACK_COMPONENTS) {
    const graph = `${folderOf(c)}/${GRAPH}`;
    if (await has(graph)) components.push({ component: c, folder: folderOf(c), graph });
    else if (required.includes(c)) {
      throw new WebDiffusionError('MODEL_FILE_MISSING', `${source.description} lacks ${graph} (component ${c}).`, {
        hint: 'The export is incomplete: every SD3 pack needs both CLIP encoders, the transformer and the VAE decoder.',
        details: { file: graph, component: c },
      });
    }
  }
  return {
    layout,
    components,
    sourcePath: (p) => (layout === 'olive' && p.startsWith('transformer/') ? `unet/${p.slice('transformer/'.length)}` : p),
  };
}

// ----------------------------------------------------------------------------------------- names

interface NameTable {
  inputs: Record<string, string[]>;
  outputs: Record<string, string[]>;
}

/** Contract name → names accepted in a source graph (the contract's own name first). */
export const IO_ALIASES: Record<PackComponent, NameTable> = {
  text_encoder: { inputs: { input_ids: ['input_ids'] }, outputs: { text_embeds: ['text_embeds'], last_hidden_state: ['last_hidden_state'] } },
  text_encoder_2: { inputs: { input_ids: ['input_ids'] }, outputs: { text_embeds: ['text_embeds'], last_hidden_state: ['last_hidden_state'] } },
  text_encoder_3: { inputs: { input_ids: ['input_ids'] }, outputs: { last_hidden_state: ['last_hidden_state', 'encoder_hidden_states'] } },
  transformer: {
    inputs: {
      hidden_states: ['hidden_states', 'sample', 'latent_model_input'],
      encoder_hidden_states: ['encoder_hidden_states', 'prompt_embeds'],
      pooled_projections: ['pooled_projections', 'pooled_projection', 'pooled_prompt_embeds'],
      timestep: ['timestep', 'timesteps'],
    },
    outputs: { out_hidden_states: ['out_hidden_states', 'out_sample', 'noise_pred'] },
  },
  vae_decoder: { inputs: { latent_sample: ['latent_sample', 'latent', 'latents'] }, outputs: { sample: ['sample', 'image', 'images'] } },
  vae_encoder: { inputs: { sample: ['sample', 'image', 'images'] }, outputs: { latent_parameters: ['latent_parameters', 'latent_sample', 'latent_dist'] } },
};

/** Outputs a component must have (CLIPs also need at least one `hidden_states.N`). */
const REQUIRED_OUTPUTS: Record<PackComponent, string[]> = {
  text_encoder: ['text_embeds'],
  text_encoder_2: ['text_embeds'],
  text_encoder_3: ['last_hidden_state'],
  transformer: ['out_hidden_states'],
  vae_decoder: ['sample'],
  vae_encoder: ['latent_parameters'],
};

const CLIP_HIDDEN = /^hidden_states[._](\d+)$/;

export interface MappedInterface {
  /** Source name → contract name, for the names that differ. */
  renames: Map<string, string>;
  /** Contract names in graph order. */
  inputs: string[];
  outputs: string[];
}

function unmappable(component: string, kind: 'input' | 'output', name: string, known: string[]): WebDiffusionError {
  return new WebDiffusionError('MODEL_INVALID', `${component}: graph ${kind} "${name}" cannot be mapped to the pack contract (expected one of ${known.join(', ')}).`, {
    hint: 'The export does not have the SD3 interface the converter knows (optimum names, or the Olive aliases in src/convert/layouts.ts).',
    details: { component, tensor: name, kind },
  });
}

/** Maps the graph's input/output names of `component` onto the contract; throws naming the first tensor it cannot map. */
export function mapInterface(component: PackComponent, model: ModelProto): MappedInterface {
  const graph = model.graph;
  if (!graph) throw new WebDiffusionError('MODEL_INVALID', `${component}: the ONNX file has no graph.`, { details: { component } });
  const table = IO_ALIASES[component];
  const isClip = component === 'text_encoder' || component === 'text_encoder_2';
  const inits = new Set((graph.initializer ?? []).map((t) => t.name ?? ''));
  const renames = new Map<string, string>();
  const lookup = (names: Record<string, string[]>, name: string): string | null => {
    for (const [canon, aliases] of Object.entries(names)) if (aliases.includes(name)) return canon;
    return null;
  };
  const take = (kind: 'input' | 'output', list: onnxProto.onnx.IValueInfoProto[]): string[] => {
    const seen = new Map<string, string>();
    const out: string[] = [];
    for (const v of list) {
      const name = v.name ?? '';
      if (kind === 'input' && inits.has(name)) continue; // IR < 4 lists initializers as inputs
      let canon = lookup(kind === 'input' ? table.inputs : table.outputs, name);
      if (canon === null && kind === 'output' && isClip) {
        const m = name.match(CLIP_HIDDEN);
        if (m) canon = `hidden_states.${Number(m[1])}`;
      }
      if (canon === null) {
        const known = Object.keys(kind === 'input' ? table.inputs : table.outputs);
        throw unmappable(component, kind, name, isClip && kind === 'output' ? [...known, 'hidden_states.N'] : known);
      }
      const other = seen.get(canon);
      if (other !== undefined) {
        throw new WebDiffusionError('MODEL_INVALID', `${component}: graph ${kind}s "${other}" and "${name}" both map to "${canon}".`, { details: { component, tensor: name } });
      }
      seen.set(canon, name);
      if (canon !== name) renames.set(name, canon);
      out.push(canon);
    }
    return out;
  };
  const inputs = take('input', graph.input ?? []);
  const outputs = take('output', graph.output ?? []);
  for (const want of Object.keys(table.inputs)) {
    if (!inputs.includes(want)) {
      throw new WebDiffusionError('MODEL_INVALID', `${component}: the graph has no input that maps to "${want}" (inputs: ${inputs.join(', ') || 'none'}).`, {
        details: { component, tensor: want },
      });
    }
  }
  for (const want of REQUIRED_OUTPUTS[component]) {
    if (!outputs.includes(want)) {
      throw new WebDiffusionError('MODEL_INVALID', `${component}: the graph has no output that maps to "${want}".`, { details: { component, tensor: want } });
    }
  }
  if (isClip && !outputs.some((o) => CLIP_HIDDEN.test(o))) {
    throw new WebDiffusionError('MODEL_INVALID', `${component}: the graph has no hidden_states.N outputs (export CLIP with output_hidden_states=True).`, {
      details: { component, tensor: 'hidden_states.N' },
    });
  }
  return { renames, inputs, outputs };
}

/**
 * Renames tensors throughout a model (graph inputs and outputs, value_info, every node input and
 * output, nested subgraphs); in place. A tensor already carrying a target name is moved aside first.
 */
export function renameTensors(model: ModelProto, renames: Map<string, string>): void {
  if (renames.size === 0 || !model.graph) return;
  const all = new Set<string>();
  const collect = (g: onnxProto.onnx.IGraphProto): void => {
    for (const v of [...(g.input ?? []), ...(g.output ?? []), ...(g.valueInfo ?? [])]) all.add(v.name ?? '');
    for (const t of g.initializer ?? []) all.add(t.name ?? '');
    for (const n of g.node ?? []) {
      for (const x of [...(n.input ?? []), ...(n.output ?? [])]) all.add(x);
      for (const a of n.attribute ?? []) for (const sub of [...(a.g ? [a.g] : []), ...(a.graphs ?? [])]) collect(sub);
    }
  };
  collect(model.graph);
  const map = new Map(renames);
  const sources = new Set(renames.keys());
  for (const target of renames.values()) {
    if (all.has(target) && !sources.has(target)) {
      let aside = `${target}__src`;
      for (let i = 1; all.has(aside); i++) aside = `${target}__src${i}`;
      all.add(aside);
      map.set(target, aside);
    }
  }
  const r = (name: string): string => map.get(name) ?? name;
  const apply = (g: onnxProto.onnx.IGraphProto): void => {
    for (const v of [...(g.input ?? []), ...(g.output ?? []), ...(g.valueInfo ?? [])]) if (v.name) v.name = r(v.name);
    for (const t of g.initializer ?? []) if (t.name) t.name = r(t.name);
    for (const n of g.node ?? []) {
      if (n.input) n.input = n.input.map(r);
      if (n.output) n.output = n.output.map(r);
      for (const a of n.attribute ?? []) for (const sub of [...(a.g ? [a.g] : []), ...(a.graphs ?? [])]) apply(sub);
    }
  };
  apply(model.graph);
}

// ------------------------------------------------------------------------------------------- ops

/**
 * com.microsoft ops a pack may contain: those both the WebGPU EP (JSEP, contract §7.3) and the
 * onnxruntime CPU EP run. Anything else (NhwcConv, GroupNorm left unrewritten, DirectML-only fusions)
 * is refused with the node's name.
 */
export const SUPPORTED_MS_OPS = new Set([
  'MatMulNBits',
  'MultiHeadAttention',
  'Attention',
  'SkipLayerNormalization',
  'SkipSimplifiedLayerNormalization',
  'SimplifiedLayerNormalization',
  'BiasAdd',
  'BiasSplitGelu',
  'Gelu',
  'FastGelu',
  'QuickGelu',
  'RotaryEmbedding',
  'GatherBlockQuantized',
]);

/** Throws naming the first node whose operator a pack cannot carry. */
export function checkOperators(component: string, model: ModelProto): void {
  const visit = (g: onnxProto.onnx.IGraphProto): void => {
    for (const n of g.node ?? []) {
      const domain = n.domain ?? '';
      const ok = domain === '' || domain === 'ai.onnx' || (domain === 'com.microsoft' && SUPPORTED_MS_OPS.has(n.opType ?? ''));
      if (!ok) {
        throw new WebDiffusionError('MODEL_INVALID', `${component}: node "${n.name || n.output?.[0] || '?'}" uses ${domain}::${n.opType}, which the browser runtime does not support.`, {
          hint: 'Convert from an export without this fused operator (e.g. the optimum export), or extend the converter to rewrite it.',
          details: { component, node: n.name ?? null, opType: n.opType ?? null, domain },
        });
      }
      for (const a of n.attribute ?? []) for (const sub of [...(a.g ? [a.g] : []), ...(a.graphs ?? [])]) visit(sub);
    }
  };
  if (model.graph) visit(model.graph);
}
