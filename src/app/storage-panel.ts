/**
 * The storage panel: models kept in this browser (size, variants, state), downloads in progress or
 * paused (with resume and pause), space used and available, whether storage is persistent, and
 * verify (re-hash) and delete per model; import from a local folder (a pack, or an export converted
 * on import); access tokens for gated hosts (asked for when a host needs one, forgotten here).
 * Talks to the worker through the GeneratorClient only.
 */
import type { GeneratorClient } from '../client/generator-client.js';
import { toWebDiffusionError, WebDiffusionError } from '../errors.js';
import { formatBytes } from '../shared/format-bytes.js';
import { describeDownload } from '../shared/progress-text.js';
import type { ModelEntry } from '../models/registry.js';
import type { DownloadProgress, InstalledPack, ProgressEvent, StorageInfo } from '../protocol.js';
import { folderFromFileList, folderKind, hasDirectoryPicker, packIdOf, pickDirectory, type PickedFolder } from './local-folder.js';
import { askForToken } from './token-prompt.js';

export interface StoragePanelOptions {
  /** Models that may be downloaded from the panel (default: none, only what is stored is listed). */
  models?: readonly ModelEntry[];
  /** The pack URL of an entry (see pack-base.ts packUrlFor); null: not downloadable. */
  packUrl?: (entry: ModelEntry) => string | null;
  /** Called after an install, delete or verify changed what is stored. */
  onChange?: () => void;
  /** Asked before a model's first download (licence acceptance); false cancels it. */
  beforeDownload?: (entry: ModelEntry) => Promise<boolean>;
  /** Asks the person for a gated host's access token (default: the token dialog); null: cancelled. */
  askToken?: (host: string, options: { refused: boolean; what: string }) => Promise<string | null>;
}

export interface StoragePanel {
  /** Re-reads the store and redraws. */
  refresh(): Promise<void>;
  /** Installs a model (as the Download button does); resolves when installed. */
  install(modelId: string): Promise<InstalledPack>;
  /** Converts a public ONNX export into a pack stored as `modelId` (the convert form does this). */
  convertExport(modelId: string, exportUrl: string): Promise<InstalledPack>;
  /** Imports a picked folder: a pack under its own id, an export converted into `exportModelId`. */
  importFolder(folder: PickedFolder, exportModelId: string): Promise<InstalledPack>;
  /** Progress of running installs, by model id. */
  readonly active: ReadonlyMap<string, DownloadProgress>;
  destroy(): void;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> & { dataset?: Record<string, string> } = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  const { dataset, ...rest } = props;
  Object.assign(e, rest);
  if (dataset) for (const [k, v] of Object.entries(dataset)) e.dataset[k] = v;
  e.append(...children);
  return e;
}

export function mountStoragePanel(container: HTMLElement, client: GeneratorClient, options: StoragePanelOptions = {}): StoragePanel {
  const active = new Map<string, DownloadProgress>();
  const controllers = new Map<string, AbortController>();
  const messages = new Map<string, string>();
  let packs: InstalledPack[] = [];
  let info: StorageInfo | null = null;
  let destroyed = false;

  const root = el('section', { className: 'storage-panel' });
  root.setAttribute('aria-label', 'Storage');
  const heading = el('h2', { textContent: 'Models in this browser' });
  const space = el('p', { className: 'storage-space' });
  const persistButton = el('button', { type: 'button', textContent: 'Keep models when space runs low' });
  const list = el('ul', { className: 'storage-list' });
  const convertForm = el('form', { className: 'storage-convert' });
  const urlInput = el('input', { type: 'url', id: 'export-url', placeholder: 'https://…/resolve/main/', required: true });
  const targetSelect = el('select', { id: 'export-model' });
  for (const m of options.models ?? []) if (m.listed !== false) targetSelect.append(new Option(m.name, m.id));
  convertForm.append(
    el('h3', { textContent: 'Convert a public ONNX export' }),
    el('p', {
      className: 'note',
      textContent: 'Point at an SD 3.5 ONNX export (optimum or Olive layout; the host must allow CORS and byte ranges). It is converted to 4 bits while it downloads, and stored here.',
    }),
    el('label', { htmlFor: 'export-url', textContent: 'Export URL' }),
    urlInput,
    el('label', { htmlFor: 'export-model', textContent: 'Install as' }),
    targetSelect,
    el('button', { type: 'submit', textContent: 'Convert and install' }),
  );
  convertForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const url = urlInput.value.trim();
    if (url) void convertExport(targetSelect.value, url).catch(() => undefined);
  });

  // Import from a local folder.
  const importForm = el('form', { className: 'storage-convert storage-import' });
  const folderInput = el('input', { type: 'file', id: 'import-folder', multiple: true });
  folderInput.webkitdirectory = true;
  const importTarget = el('select', { id: 'import-model' });
  for (const m of options.models ?? []) if (m.listed !== false) importTarget.append(new Option(m.name, m.id));
  const importButton = el('button', { type: 'submit', textContent: 'Import', disabled: true });
  const importStatus = el('p', { className: 'storage-import-status', role: 'status' });
  let picked: PickedFolder | null = null;
  const setPicked = (folder: PickedFolder | null) => {
    picked = folder;
    importButton.disabled = !folder;
    if (!folder) {
      importStatus.textContent = '';
      return;
    }
    const kind = folderKind(folder);
    importStatus.textContent =
      kind === 'pack'
        ? `${folder.name}: a model pack (${folder.files.length} files); its files are checked against its pack.json.`
        : kind === 'export'
          ? `${folder.name}: an ONNX export (${folder.files.length} files); it is converted to 4 bits on import.`
          : `${folder.name} holds neither pack.json (a model pack) nor model_index.json (an ONNX export).`;
    importButton.disabled = kind === null;
  };
  folderInput.addEventListener('change', () => setPicked(folderFromFileList(folderInput.files ?? [])));
  const pickerButton = el('button', { type: 'button', textContent: 'Choose a folder…' });
  pickerButton.addEventListener('click', () => void pickDirectory().then((f) => f && setPicked(f), (e) => void (importStatus.textContent = toWebDiffusionError(e).message)));
  importForm.append(
    el('h3', { textContent: 'Import from a folder' }),
    el('p', {
      className: 'note',
      textContent:
        'A model pack (a folder with pack.json) is installed after every file matches its size and sha256; an SD 3.5 ONNX export (optimum or Olive layout) is converted to 4 bits on import. The files are read here and copied into this browser’s storage; nothing is uploaded.',
    }),
    el('label', { htmlFor: 'import-folder', textContent: 'Model folder' }),
    folderInput,
    ...(hasDirectoryPicker() ? [pickerButton] : []),
    el('label', { htmlFor: 'import-model', textContent: 'Install an export as' }),
    importTarget,
    importButton,
    importStatus,
  );
  importForm.addEventListener('submit', (e) => {
    e.preventDefault();
    if (picked) void importFolder(picked, importTarget.value).catch(() => undefined);
  });

  // Access tokens kept for gated hosts.
  const tokenSection = el('div', { className: 'storage-convert storage-tokens' });
  const tokenList = el('ul', { className: 'storage-token-list' });
  tokenSection.append(el('h3', { textContent: 'Access tokens' }), tokenList);
  let tokenHosts: string[] = [];

  root.append(heading, space, list, convertForm, importForm, tokenSection);
  container.append(root);

  persistButton.addEventListener('click', async () => {
    await navigator.storage?.persist?.().catch(() => false);
    await refresh();
  });

  const entryOf = (id: string) => options.models?.find((m) => m.id === id);

  function renderSpace(): void {
    space.replaceChildren();
    if (!info || info.usage === null || info.quota === null) {
      space.append('Storage space: unknown in this browser.');
      return;
    }
    space.append(`Used ${formatBytes(info.usage)} of ${formatBytes(info.quota)} available to this site (${formatBytes(Math.max(0, info.quota - info.usage))} free). `);
    if (info.persisted) space.append('Storage is persistent: the browser will not evict the models.');
    else space.append('Storage is not persistent: the browser may remove the models when the disk is nearly full. ', persistButton);
  }

  function row(id: string): HTMLLIElement {
    const pack = packs.find((p) => p.id === id);
    const entry = entryOf(id);
    const running = active.get(id);
    const name = entry?.name ?? pack?.name ?? id;
    const li = el('li', { className: 'storage-item', dataset: { modelId: id, state: running ? 'downloading' : (pack?.state ?? 'absent') } });
    const title = el('strong', { textContent: name });
    const facts: string[] = [];
    if (pack) {
      const variants = [...new Set(Object.values(pack.variants))].join(', ');
      if (pack.state === 'installed') facts.push(`installed · ${formatBytes(pack.bytesTotal)}${variants ? ` · ${variants}` : ''}`);
      else facts.push(`paused · ${formatBytes(pack.bytesStored)} of ${formatBytes(pack.bytesTotal)} stored`);
      if (pack.state !== 'installed' && pack.source.kind === 'folder') facts.push(`imported from the folder ${pack.source.folderName}: choose it again to continue`);
    } else if (entry?.approxDownloadBytes) facts.push(`about ${formatBytes(entry.approxDownloadBytes)} to download`);
    else facts.push('not downloaded');
    const status = el('span', { className: 'storage-status', textContent: running ? describeDownload(running) : facts.join(' · ') });
    li.append(title, ' ', status);
    if (running && running.bytesTotal > 0) li.append(el('progress', { max: running.bytesTotal, value: running.bytesDone }));
    else if (pack && pack.state !== 'installed' && pack.bytesTotal > 0) li.append(el('progress', { max: pack.bytesTotal, value: pack.bytesStored }));
    const buttons = el('span', { className: 'storage-actions' });
    const button = (label: string, action: () => void | Promise<void>) => {
      const b = el('button', { type: 'button', textContent: label });
      b.setAttribute('aria-label', `${label} ${name}`);
      b.addEventListener('click', () => void action());
      buttons.append(b);
    };
    const url = entry && options.packUrl ? options.packUrl(entry) : pack?.source.kind === 'pack' ? pack.source.baseUrl : null;
    if (running) button('Pause', () => controllers.get(id)?.abort());
    else if (pack?.state !== 'installed' && url) button(pack ? 'Resume' : 'Download', () => void install(id).catch(() => undefined));
    if (pack && !running) {
      if (pack.state === 'installed') button('Verify', () => verify(id));
      button('Delete', () => remove(id));
    }
    li.append(' ', buttons);
    const msg = messages.get(id);
    if (msg) li.append(el('div', { className: 'storage-message', role: 'status', textContent: msg }));
    return li;
  }

  function renderTokens(): void {
    tokenList.replaceChildren();
    if (tokenHosts.length === 0) {
      tokenList.append(el('li', { className: 'note', textContent: 'No access tokens are stored. A gated model host asks for one when it needs it.' }));
      return;
    }
    for (const host of tokenHosts) {
      const forget = el('button', { type: 'button', textContent: 'Forget' });
      forget.setAttribute('aria-label', `Forget the access token for ${host}`);
      forget.addEventListener('click', async () => {
        await client.forgetSourceToken(host);
        await refresh();
      });
      tokenList.append(el('li', { dataset: { host } }, `${host}: a token is kept in this browser and sent only to this host `, forget));
    }
  }

  function render(): void {
    if (destroyed) return;
    renderSpace();
    renderTokens();
    const ids = [...new Set([...packs.map((p) => p.id), ...active.keys(), ...(options.models ?? []).filter((m) => m.listed !== false && options.packUrl?.(m)).map((m) => m.id)])];
    list.replaceChildren(...ids.map(row));
  }

  async function refresh(): Promise<void> {
    try {
      [packs, info, tokenHosts] = await Promise.all([client.installed(), client.storageInfo(), client.sourceTokenHosts()]);
    } catch (e) {
      messages.set('', toWebDiffusionError(e).message);
    }
    render();
  }

  async function install(id: string): Promise<InstalledPack> {
    const entry = entryOf(id);
    const pack = packs.find((p) => p.id === id);
    const baseUrl = (entry && options.packUrl?.(entry)) ?? (pack?.source.kind === 'pack' ? pack.source.baseUrl : null);
    if (!baseUrl) throw new Error(`No pack address for ${id}.`);
    return track(id, (callOptions) => client.install({ modelId: id, baseUrl }, callOptions));
  }

  /** Converts a public ONNX export (optimum or Olive layout) into a 4-bit pack while downloading it. */
  async function convertExport(id: string, exportUrl: string): Promise<InstalledPack> {
    return track(id, (callOptions) => client.installFromExport({ modelId: id, exportUrl }, callOptions));
  }

  /** Imports a picked folder: a pack under its pack.json id (a model this app knows), an export converted into `exportModelId`. */
  async function importFolder(folder: PickedFolder, exportModelId: string): Promise<InstalledPack> {
    let id: string;
    try {
      const packId = await packIdOf(folder);
      if (packId === null && folderKind(folder) !== 'export') {
        throw new WebDiffusionError('MODEL_FILE_MISSING', `The folder ${folder.name} holds neither pack.json (a model pack) nor model_index.json (an ONNX export).`, {
          hint: 'Choose the folder of a model pack, or the root folder of an SD 3.5 ONNX export.',
          details: { folder: folder.name },
        });
      }
      if (packId !== null && !entryOf(packId)) {
        throw new WebDiffusionError('MODEL_UNKNOWN', `The pack in ${folder.name} is the model "${packId}", which this app does not know.`, {
          hint: `Packs of these models can be imported: ${(options.models ?? []).map((m) => m.id).join(', ')}.`,
          details: { modelId: packId },
        });
      }
      id = packId ?? exportModelId;
    } catch (e) {
      const err = toWebDiffusionError(e);
      importStatus.textContent = `${err.message}${err.hint ? ` ${err.hint}` : ''}`;
      throw err;
    }
    importStatus.textContent = `Importing ${folder.name} as ${entryOf(id)?.name ?? id}…`;
    try {
      const result = await track(id, (callOptions) => client.installFromFolder({ modelId: id, folderName: folder.name, files: folder.files }, callOptions));
      importStatus.textContent = `Imported ${folder.name} as ${entryOf(id)?.name ?? id}.`;
      return result;
    } catch (e) {
      const err = toWebDiffusionError(e);
      importStatus.textContent = err.code === 'CANCELLED' ? `The import of ${folder.name} was paused; import the folder again to continue.` : `${err.message}${err.hint ? ` ${err.hint}` : ''}`;
      throw err;
    }
  }

  /** Runs `call`; when a host needs an access token, asks the person for it, keeps it and runs `call` again. */
  async function withTokens<T>(what: string, signal: AbortSignal, call: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await call();
      } catch (e) {
        const err = toWebDiffusionError(e);
        const host = err.details?.host;
        if (err.code !== 'SOURCE_NEEDS_TOKEN' || typeof host !== 'string' || signal.aborted) throw err;
        const token = await (options.askToken ?? ((h, o) => askForToken(h, o)))(host, { refused: err.details?.refused === true, what });
        if (!token) throw err;
        await client.setSourceToken(host, token);
        tokenHosts = await client.sourceTokenHosts();
        renderTokens();
      }
    }
  }

  /** Runs an install of `id`, showing its progress in the model's row; abort pauses it. */
  async function track(id: string, call: (o: { signal: AbortSignal; onProgress: (e: ProgressEvent) => void }) => Promise<InstalledPack>): Promise<InstalledPack> {
    const entry = entryOf(id);
    if (entry && options.beforeDownload && !(await options.beforeDownload(entry))) {
      messages.set(id, 'Not downloaded: its licence was not accepted.');
      render();
      throw new WebDiffusionError('CANCELLED', `${entry.name} was not downloaded: its licence was not accepted.`);
    }
    // persist() is offered to pages only (not workers); asking on a click helps it be granted.
    void navigator.storage?.persist?.().catch(() => false);
    const ac = new AbortController();
    controllers.set(id, ac);
    messages.delete(id);
    active.set(id, { modelId: id, state: 'checking', file: null, fileBytesDone: 0, fileBytesTotal: 0, bytesDone: 0, bytesTotal: 0, filesDone: 0, filesTotal: 0, bytesPerSecond: null, etaMs: null });
    render();
    try {
      const result = await withTokens(entry?.name ?? id, ac.signal, () => call({
        signal: ac.signal,
        onProgress: (e) => {
          if (e.phase !== 'downloading') return;
          const { phase: _phase, ...p } = e;
          active.set(id, p);
          const status = list.querySelector<HTMLElement>(`[data-model-id="${CSS.escape(id)}"] .storage-status`);
          const bar = list.querySelector<HTMLProgressElement>(`[data-model-id="${CSS.escape(id)}"] progress`);
          if (status && bar) {
            status.textContent = describeDownload(p);
            bar.max = Math.max(1, p.bytesTotal);
            bar.value = p.bytesDone;
          } else render();
        },
      }));
      messages.set(id, 'Installed: it loads without a network connection now.');
      return result;
    } catch (e) {
      const err = toWebDiffusionError(e);
      messages.set(id, err.code === 'CANCELLED' ? 'Paused: what arrived is kept; Resume continues from there.' : `${err.message}${err.hint ? ` ${err.hint}` : ''}`);
      throw err;
    } finally {
      active.delete(id);
      controllers.delete(id);
      await refresh();
      options.onChange?.();
    }
  }

  async function verify(id: string): Promise<void> {
    messages.set(id, 'Verifying…');
    render();
    try {
      const report = await client.verifyPack(id);
      const bad = report.files.filter((f) => !f.ok);
      messages.set(id, bad.length ? `${bad.length} file(s) were damaged and removed (${bad.map((f) => f.path).join(', ')}); Resume downloads them again.` : `All ${report.files.length} files verified.`);
    } catch (e) {
      messages.set(id, toWebDiffusionError(e).message);
    }
    await refresh();
    options.onChange?.();
  }

  async function remove(id: string): Promise<void> {
    const name = entryOf(id)?.name ?? packs.find((p) => p.id === id)?.name ?? id;
    if (typeof confirm === 'function' && !confirm(`Delete ${name} from this browser? It will have to be downloaded again.`)) return;
    await client.deletePack(id);
    messages.set(id, 'Deleted.');
    await refresh();
    options.onChange?.();
  }

  void refresh();
  return {
    refresh,
    install,
    convertExport,
    importFolder,
    active,
    destroy() {
      destroyed = true;
      for (const c of controllers.values()) c.abort();
      root.remove();
    },
  };
}
