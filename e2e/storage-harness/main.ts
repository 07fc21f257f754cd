/**
 * A test page for the weight store's end-to-end tests: the storage panel mounted as the app will
 * mount it, plus window.__store hooks to load and generate through the same worker.
 * Not part of the app build (e2e/storage.spec.ts builds it with Vite into its own folder).
 */
import { packUrlFor } from '../../src/app/pack-base.js';
import { mountStoragePanel } from '../../src/app/storage-panel.js';
import { GeneratorClient } from '../../src/client/generator-client.js';
import { MODEL_REGISTRY } from '../../src/models/registry.js';
import type { ProgressEvent } from '../../src/protocol.js';

const client = GeneratorClient.create();
const packUrl = (entry: { id: string; path: string | null }) => packUrlFor(entry, { pageUrl: location.href, baseUri: document.baseURI });
const panel = mountStoragePanel(document.getElementById('panel')!, client, { models: MODEL_REGISTRY, packUrl });
const phases: string[] = [];
const downloads: ProgressEvent[] = [];

const hooks = {
  ready: true,
  phases,
  downloads,
  packUrl: (id: string) => packUrl(MODEL_REGISTRY.find((m) => m.id === id)!),
  install: (id: string) => panel.install(id),
  /** Installs through the client directly, recording every progress event's state. */
  async installDirect(id: string) {
    const states: string[] = [];
    const r = await client.install({ modelId: id, baseUrl: hooks.packUrl(id)!, backend: 'wasm' }, { onProgress: (e) => e.phase === 'downloading' && states.push(e.state) });
    return { state: r.state, states };
  },
  installed: () => client.installed(),
  storageInfo: () => client.storageInfo(),
  deletePack: (id: string) => client.deletePack(id),
  verifyPack: (id: string) => client.verifyPack(id),
  async load(id: string) {
    const m = await client.load({ modelId: id, baseUrl: hooks.packUrl(id)!, backend: 'wasm' }, {
      onProgress: (e) => {
        phases.push(e.phase);
        if (e.phase === 'downloading') downloads.push(e);
      },
    });
    return { modelId: m.modelId, variant: m.variant, backend: m.backend.kind };
  },
  async generate() {
    const r = await client.generate({ prompt: 'a lighthouse', width: 64, height: 64, steps: 2, guidance: 4.5, seed: 7 });
    r.image.close();
    return { width: r.width, height: r.height, seed: r.seed };
  },
};
(window as unknown as { __store: typeof hooks }).__store = hooks;
