/**
 * The sessions of a pack's components, created on demand from the pack (so a component can be
 * released and loaded again: low-memory mode, or new static shapes for another image size). Each
 * session pins the graph's symbolic axes to the shapes it will be fed (freeDimensionOverrides, names
 * read from the graph itself); asking for other shapes re-creates it. Files are checked against
 * pack.json (size always, sha256 unless the source verified them already) every time they are read.
 */
import { WebDiffusionError } from '../errors.js';
import type { PipelineSessions, SessionShapes } from '../diffusion/text-to-image.js';
import type { ModelSource } from '../models/model-source.js';
import { PACK_MANIFEST_FILE, type PackComponent, type PackFile, type PackManifest } from '../models/pack-manifest.js';
import type { Variant } from '../protocol.js';
import { externalDataLocations } from '../runtime/external-data.js';
import type { ExternalDataFile, ModelSession, SessionRunner } from '../runtime/session-runner.js';
import { describeGraph, freeDimensionOverrides, overridesKey, type GraphDescription } from '../runtime/static-shapes.js';

const dirOf = (path: string): string => (path.includes('/') ? path.slice(0, path.lastIndexOf('/') + 1) : '');

export interface ComponentSessionsOptions {
  verifyFile: (file: PackFile, data: Uint8Array) => Promise<void>;
  /** Called with each file's bytes once read and checked (load progress). */
  onBytes?: (bytes: number) => void;
  /** Checks a new session's inputs and outputs (throws MODEL_INVALID). */
  checkInterface?: (component: PackComponent, session: ModelSession) => void;
  /** Pin symbolic axes to the fed shapes (default true). */
  staticShapes?: boolean;
}

/** A component's graph and external data, read and checked, ready for createSession. */
interface ComponentFiles {
  model: Uint8Array;
  graph: GraphDescription;
  externalData: ExternalDataFile[];
}

interface Held {
  session: ModelSession;
  key: string;
}

/** Outputs each component keeps on the GPU (on a GPU runner): the transformer's velocity feeds the step graph. */
const OUTPUTS_ON_DEVICE: Partial<Record<PackComponent, readonly string[]>> = { transformer: ['out_hidden_states'] };

export class ComponentSessions implements PipelineSessions {
  private readonly held = new Map<PackComponent, Held>();
  private readonly graphs = new Map<PackComponent, GraphDescription>();
  /** Files being read ahead of their get() (prefetch). */
  private readonly prefetched = new Map<PackComponent, Promise<ComponentFiles>>();
  /** Components whose session could not be created with pinned shapes (then created without). */
  readonly dynamicFallback = new Set<PackComponent>();

  constructor(
    private readonly source: ModelSource,
    private readonly manifest: PackManifest,
    readonly variants: Partial<Record<PackComponent, Variant>>,
    private readonly runner: SessionRunner,
    private readonly options: ComponentSessionsOptions,
  ) {}

  /** Bytes of each chosen component variant's files (graph + external data). */
  componentBytes(): Partial<Record<PackComponent, number>> {
    const out: Partial<Record<PackComponent, number>> = {};
    for (const [c, v] of Object.entries(this.variants) as [PackComponent, Variant][]) {
      out[c] = this.manifest.components[c]!.variants[v]!.files.reduce((s, f) => s + f.bytes, 0);
    }
    return out;
  }

  /** What the component's graph declares (known once its graph was read). */
  graph(component: PackComponent): GraphDescription | undefined {
    return this.graphs.get(component);
  }

  /** Reads the component's graph (not its weights) to learn its inputs and width, once. */
  async describe(component: PackComponent): Promise<GraphDescription> {
    const known = this.graphs.get(component);
    if (known) return known;
    const { graphFile } = this.files(component);
    const graph = describeGraph(await this.source.readBytes(graphFile.path), graphFile.path);
    this.graphs.set(component, graph);
    return graph;
  }

  isLoaded(component: PackComponent): boolean {
    return this.held.has(component);
  }

  private files(component: PackComponent): { graphFile: PackFile; files: PackFile[]; field: string } {
    const variant = this.variants[component];
    if (!variant) throw new RangeError(`component ${component} was not chosen for this pipeline`);
    const field = `components.${component}.variants.${variant}.files`;
    const files = this.manifest.components[component]!.variants[variant]!.files;
    const graphFile = files[0]!;
    if (!graphFile.path.endsWith('.onnx')) {
      throw new WebDiffusionError('MODEL_INVALID', `${PACK_MANIFEST_FILE}: field "${field}.0.path" must be the .onnx graph (got ${graphFile.path}).`, {
        details: { file: PACK_MANIFEST_FILE, field: `${field}.0.path` },
      });
    }
    return { graphFile, files, field };
  }

  private async read(file: PackFile): Promise<Uint8Array> {
    const data = await this.source.readBytes(file.path);
    await this.options.verifyFile(file, data);
    this.options.onBytes?.(data.byteLength);
    return data;
  }

  private overridesFor(graph: GraphDescription, shapes: SessionShapes | undefined): Record<string, number> {
    if (this.options.staticShapes === false || !shapes) return {};
    return freeDimensionOverrides(graph.inputs, shapes).overrides;
  }

  /**
   * The component's session, pinned to `shapes` (input name → dims). A held session pinned to other
   * shapes is released and re-created.
   */
  async get(component: PackComponent, shapes?: SessionShapes): Promise<ModelSession> {
    const known = this.graphs.get(component);
    const held = this.held.get(component);
    const wantKey = known && (this.dynamicFallback.has(component) ? '' : overridesKey(this.overridesFor(known, shapes)));
    if (held && wantKey !== undefined && wantKey === held.key) return held.session;
    if (held) await this.release([component]);

    const pending = this.prefetched.get(component);
    this.prefetched.delete(component);
    let files: ComponentFiles | null = await (pending ?? this.readComponent(component));
    const { graph } = files;
    const overrides = this.dynamicFallback.has(component) ? {} : this.overridesFor(graph, shapes);
    const outputsOnDevice = OUTPUTS_ON_DEVICE[component];
    let session: ModelSession;
    try {
      session = await this.runner.createSession(component, files.model, files.externalData, {
        options: Object.keys(overrides).length ? { freeDimensionOverrides: overrides } : {},
        outputsOnDevice,
      });
    } catch (e) {
      if (!Object.keys(overrides).length) throw e;
      // Some exports reject pinned axes (contract §7.4): the same graph with dynamic shapes still runs.
      this.dynamicFallback.add(component);
      session = await this.runner.createSession(component, files.model, files.externalData, { outputsOnDevice });
    }
    // Release the bytes: the session holds its own copy of the weights now.
    files = null;
    this.held.set(component, { session, key: this.dynamicFallback.has(component) ? '' : overridesKey(overrides) });
    try {
      this.options.checkInterface?.(component, session);
    } catch (e) {
      await this.release([component]);
      throw e;
    }
    return session;
  }

  /** Reads and checks the component's graph and every external-data file it names. */
  private async readComponent(component: PackComponent): Promise<ComponentFiles> {
    const { graphFile, files, field } = this.files(component);
    const model = await this.read(graphFile);
    const graph = describeGraph(model, graphFile.path);
    this.graphs.set(component, graph);
    // Every external-data location recorded in the graph must be a file the variant lists (same folder as the graph).
    const dir = dirOf(graphFile.path);
    const shards = externalDataLocations(model, graphFile.path).map((location) => {
      const file = files.find((f) => f.path === dir + location);
      if (!file) {
        throw new WebDiffusionError(
          'MODEL_INVALID',
          `${graphFile.path} refers to external data "${location}", which ${PACK_MANIFEST_FILE} does not list under "${field}" (expected ${dir + location}).`,
          { hint: 'The pack is incomplete or its manifest was written for another graph; re-convert the pack.', details: { file: graphFile.path, missing: dir + location, field } },
        );
      }
      return { location, file };
    });
    const externalData: ExternalDataFile[] = [];
    for (const s of shards) externalData.push({ path: s.location, data: await this.read(s.file) });
    return { model, graph, externalData };
  }

  /**
   * Starts reading the component's files now, so they come off storage (or the network) while
   * another session is being created; the next get() of the component uses them. A failure is
   * reported by that get(). Resolves (never rejects) when the files are read. For fast mode: it
   * holds one more component's bytes for a while.
   */
  prefetch(component: PackComponent): Promise<void> {
    if (this.held.has(component)) return Promise.resolve();
    let reading = this.prefetched.get(component);
    if (!reading) {
      reading = this.readComponent(component);
      this.prefetched.set(component, reading);
    }
    return reading.then(
      () => undefined,
      () => undefined, // reported by get()
    );
  }

  /** Releases the components' sessions (their GPU or WASM memory); a later get() loads them again. */
  async release(components: readonly PackComponent[]): Promise<void> {
    for (const c of components) this.prefetched.delete(c);
    const sessions = components.flatMap((c) => {
      const h = this.held.get(c);
      this.held.delete(c);
      return h ? [h.session] : [];
    });
    await Promise.all(sessions.map((s) => s.release()));
  }

  async releaseAll(): Promise<void> {
    this.prefetched.clear();
    await this.release([...this.held.keys()]);
  }
}
