/**
 * The page: wires the form, the queue, the canvas, the history and the generator client together.
 * DOM only; it never imports onnxruntime (the worker does). Each concern lives in its own module.
 */
import { GeneratorClient } from '../client/generator-client.js';
import { toWebDiffusionError, WebDiffusionError } from '../errors.js';
import { DEFAULT_MODEL_ID, findModel, MODEL_REGISTRY, type ModelEntry } from '../models/registry.js';
import type { BackendPreference, GenerateResult, LoadedModel, MemoryModePreference } from '../protocol.js';
import { formatParameters, parametersFromInfotext } from '../shared/a1111-parameters.js';
import { backendSummary, memorySummary, renderCapabilities, renderCpuNotice, storageEstimate } from './capabilities.js';
import { savedMemoryMode, saveMemoryMode } from './memory-setting.js';
import { CanvasView, thumbnail } from './canvas-view.js';
import { renderError, renderNotice } from './error-view.js';
import { SettingsForm, type ModelState } from './form.js';
import { addEntry, deleteAll, deleteEntry, listEntries, newHistoryId, type HistoryEntry } from './history-store.js';
import { HistoryView, renderCompare } from './history-view.js';
import { JobQueue, type QueuedJob } from './job-queue.js';
import { batchSeeds, MAX_IMAGES, MAX_SEED, type GenerationParams, type ImageParams } from '../shared/params.js';
import { readParameters, withParameters } from '../shared/png-metadata.js';
import { renderQueue } from './queue-view.js';
import { isShareFragment, paramsFromFragment, shareUrl } from './share-link.js';
import { createLicenseGate } from '../shared/dom/license-gate.js';
import { packUrlFor } from '../shared/pack-base.js';
import { mountStoragePanel } from './storage-panel.js';
import { describeProgress, progressFraction, seconds } from '../shared/progress-text.js';
import { askForToken } from './token-prompt.js';
import { watchTokens } from './token-counter.js';
import { APP_VERSION } from '../version.js';
import { mountOfflineStatus } from './offline-status.js';
import { startServiceWorker } from './service-worker-client.js';
import { mountUpdatePrompt } from './update-prompt.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const form = new SettingsForm();
const modelNote = $<HTMLParagraphElement>('model-note');
const generateButton = $<HTMLButtonElement>('generate');
const cancelButton = $<HTMLButtonElement>('cancel');
const statusBox = $<HTMLDivElement>('status');
const progressBar = $<HTMLProgressElement>('progress');
const errorBox = $<HTMLDivElement>('error');
const noticeBox = $<HTMLDivElement>('notice');
const backendNotice = $<HTMLDivElement>('backend-notice');
const backendInfo = $<HTMLParagraphElement>('backend-info');
const capabilityList = $<HTMLElement>('capability-list');
const capabilities = $<HTMLDetailsElement>('capabilities');
const downloadButton = $<HTMLButtonElement>('download');
const copyLinkButton = $<HTMLButtonElement>('copy-link');
const shareBox = $<HTMLDivElement>('share');
const shareInput = $<HTMLInputElement>('share-url');
const openPng = $<HTMLInputElement>('open-png');
const dropOverlay = $<HTMLDivElement>('drop-overlay');
const deleteAllButton = $<HTMLButtonElement>('delete-all');
const compareBox = $<HTMLDivElement>('compare');
const canvas = new CanvasView($<HTMLCanvasElement>('canvas'), $<HTMLDivElement>('canvas-box'));

type AppState = 'loading' | 'ready' | 'generating' | 'error';

/** A small typed hook for end-to-end tests and the curious (tldraw's habit). */
interface TestHook {
  state: AppState;
  model: LoadedModel | null;
  lastResult: Omit<GenerateResult, 'image'> | null;
  lastError: { code: string; message: string } | null;
  generations: number;
  /** Previews drawn on the canvas so far. */
  previews: number;
  /** Seeds of the images made so far, in order. */
  seeds: number[];
  /** Generation requests sent to the worker so far (a link or a dropped PNG must not add any). */
  requests: number;
}
const hook: TestHook = { state: 'loading', model: null, lastResult: null, lastError: null, generations: 0, previews: 0, seeds: [], requests: 0 };
(window as unknown as { __webdiffusion: TestHook }).__webdiffusion = hook;

const client = GeneratorClient.create();
const modelStates = new Map<string, ModelState>();
let loadedModelId: string | null = null;
/** The image on the canvas that Download saves. */
let shown: HistoryEntry | null = null;
let entries: HistoryEntry[] = [];
let compareFirst: HistoryEntry | null = null;
let closeCompare: (() => void) | null = null;

// ---------------------------------------------------------------------------------------------
// State, errors, status

function setState(state: AppState): void {
  hook.state = state;
  document.body.dataset.state = state;
  const modelReady = loadedModelId !== null && state !== 'loading' && state !== 'error';
  generateButton.disabled = !modelReady;
  cancelButton.disabled = state !== 'generating';
  form.lockModel(state === 'generating' || state === 'loading');
}

function showError(e: WebDiffusionError | null): void {
  hook.lastError = e ? { code: e.code, message: e.message } : null;
  renderError(errorBox, e);
}

const pageError = (message: string, hint?: string) => new WebDiffusionError('INVALID_REQUEST', message, hint ? { hint } : {});

function setStatus(text: string, progress?: number): void {
  statusBox.textContent = text;
  if (progress !== undefined) progressBar.value = progress;
}

/** Redraws the capability panel when it is open (it is drawn on opening otherwise). */
function refreshCapabilities(): void {
  if (capabilities.open) void storageEstimate().then((s) => renderCapabilities(capabilityList, hook.model, s));
}

// ---------------------------------------------------------------------------------------------
// Models

/** Where a model's pack lives: ?packBase=, then the build-time VITE_PACK_BASE, then the registry path. */
const packUrl = (e: ModelEntry): string | null =>
  packUrlFor(e, { pageUrl: location.href, baseUri: document.baseURI, buildBase: import.meta.env.VITE_PACK_BASE as string | undefined });
/** Models stored in this browser (downloaded or converted): they load with no pack URL at all. */
const installedIds = new Set<string>();
const loadable = (e: ModelEntry): boolean => packUrl(e) !== null || installedIds.has(e.id);
async function refreshInstalled(): Promise<void> {
  const packs = await client.installed().catch(() => []);
  installedIds.clear();
  for (const p of packs) if (p.state === 'installed') installedIds.add(p.id);
  renderModels();
}
const licenses = createLicenseGate();
const storagePanel = mountStoragePanel(document.getElementById('storage')!, client, {
  models: MODEL_REGISTRY,
  packUrl,
  onChange: () => void refreshInstalled(),
  beforeDownload: (e) => licenses.allowDownload(e),
});

function pickerEntries(selected: string): ModelEntry[] {
  return MODEL_REGISTRY.filter((e) => e.listed !== false || e.id === selected);
}

let selectedModelId = DEFAULT_MODEL_ID;
function renderModels(selected = selectedModelId): void {
  selectedModelId = selected;
  form.renderModels(pickerEntries(selected), modelStates, selected, loadable);
}

function sizeRulesFor(entry: ModelEntry, model: LoadedModel | null): void {
  const limits = model
    ? { min: model.limits.minSide, max: model.limits.maxSide, multipleOf: model.limits.multipleOf }
    : { min: entry.sideRange.min, max: entry.sideRange.max, multipleOf: 16 };
  form.setSizeRules(entry.recommended.width * entry.recommended.height, limits);
}

/** A loadable model id for a name from a link or a PNG (id, or the picker's name). */
function resolveModel(name: string): string | undefined {
  const n = name.trim().toLowerCase();
  const entry = MODEL_REGISTRY.find((m) => m.id.toLowerCase() === n || m.name.toLowerCase() === n);
  return entry && loadable(entry) ? entry.id : undefined;
}

/** The form's size and guidance, so the model's sessions are pinned to the image about to be made. */
function firstImage(): { firstImage?: { width: number; height: number; guidance: number } } {
  const { width, height, guidance } = form.read();
  const ok = [width, height].every((n) => Number.isInteger(n) && n > 0 && n % 16 === 0) && Number.isFinite(guidance);
  return ok ? { firstImage: { width, height, guidance } } : {};
}

async function loadModel(id: string): Promise<void> {
  const entry = findModel(id);
  if (!entry || !loadable(entry)) return;
  // An installed pack loads from the store; the URL is only used to download what is missing.
  const baseUrl = packUrl(entry) ?? '';
  if (entry.license.mustAccept && !licenses.accepted(entry)) {
    await refreshInstalled();
    if (!installedIds.has(id) && !(await licenses.allowDownload(entry))) {
      setStatus(`${entry.name} was not downloaded: its licence was not accepted.`, 0);
      // The model loaded before (if any) is still loaded: the picker and its settings go back to it.
      const previous = loadedModelId ? findModel(loadedModelId) : undefined;
      if (previous) {
        renderModels(previous.id);
        sizeRulesFor(previous, hook.model);
        form.applyRecommended(previous);
        modelNote.textContent = previous.description;
      } else setState('error');
      return;
    }
  }
  loadedModelId = null;
  hook.model = null;
  setState('loading');
  showError(null);
  modelNote.textContent = entry.description;
  modelStates.set(id, { kind: 'loading', percent: null });
  renderModels();
  sizeRulesFor(entry, null);
  refreshCapabilities();
  try {
    const model = await client.load(
      { modelId: entry.id, baseUrl, backend: form.backend.value as BackendPreference, memoryMode: form.memoryMode.value as MemoryModePreference, ...firstImage() },
      {
        onProgress: (e) => {
          setStatus(describeProgress(e), progressFraction(e) ?? undefined);
          if (e.phase === 'loading' && e.bytesTotal) {
            modelStates.set(id, { kind: 'loading', percent: Math.floor((100 * (e.bytesDone ?? 0)) / e.bytesTotal) });
            renderModels();
          }
        },
      },
    );
    for (const [k, s] of modelStates) if (s.kind === 'ready') modelStates.set(k, { kind: 'available' });
    modelStates.set(id, { kind: 'ready' });
    loadedModelId = id;
    hook.model = model;
    renderModels();
    sizeRulesFor(entry, model);
    form.snapBoth();
    backendInfo.textContent = backendSummary(model);
    form.memoryNote.textContent = model.memory ? memorySummary(model.memory) : '';
    renderCpuNotice(backendNotice, model.backend.kind === 'wasm');
    refreshCapabilities();
    void storagePanel.refresh();
    setStatus(`Ready (${seconds(model.loadMs)} to load). Press Generate.`, 0);
    setState(queue.busy ? 'generating' : 'ready');
    promptTokens.refresh();
    negativeTokens.refresh();
  } catch (e) {
    const err = toWebDiffusionError(e);
    // A gated host: ask for its access token, keep it (this browser, that host only) and try again.
    const tokenHost = err.code === 'SOURCE_NEEDS_TOKEN' ? err.details?.host : undefined;
    if (typeof tokenHost === 'string') {
      setStatus(`${tokenHost} needs an access token.`, 0);
      const token = await askForToken(tokenHost, { refused: err.details?.refused === true, what: entry.name });
      if (token) {
        await client.setSourceToken(tokenHost, token);
        void storagePanel.refresh();
        return loadModel(id);
      }
    }
    modelStates.set(id, { kind: 'failed' });
    renderModels();
    setStatus('The model could not be loaded.', 0);
    showError(err);
    void storagePanel.refresh(); // a failed install leaves a paused download to resume or delete
    setState('error');
  }
}

/** Switches the picker to `id` and loads it; `recommended` also loads its recommended settings. */
function selectModel(id: string, recommended: boolean): Promise<void> {
  const entry = findModel(id);
  if (!entry || !loadable(entry)) return Promise.resolve();
  renderModels(id);
  sizeRulesFor(entry, null);
  if (recommended) form.applyRecommended(entry);
  return loadModel(id);
}

// ---------------------------------------------------------------------------------------------
// Generating: the queue runs one job at a time

const queue = new JobQueue(runJob);
queue.onChange(() => {
  renderQueue($('queue'), queue.list(), (id) => queue.cancel(id));
  if (loadedModelId) setState(queue.busy ? 'generating' : 'ready');
});

function enqueue(): void {
  if (!loadedModelId) return;
  showError(null);
  renderNotice(noticeBox, null);
  const count = form.imageCount();
  if (!Number.isInteger(count) || count < 1 || count > MAX_IMAGES) {
    showError(pageError(`The number of images must be a whole number from 1 to ${MAX_IMAGES}; got ${form.count.value || 'nothing'}.`, 'Each image is made after the previous one; queue more later if you need them.'));
    return;
  }
  const params = { ...form.read(), modelId: loadedModelId };
  const seedText = form.seedText();
  if (seedText !== '' && !(/^\d+$/.test(seedText) && Number(seedText) <= MAX_SEED)) {
    showError(new WebDiffusionError('INVALID_SEED', `The seed must be a whole number from 0 to ${MAX_SEED}; got “${seedText}”.`, { hint: 'Leave the seed empty for a random one.' }));
    return;
  }
  queue.add(batchSeeds(params.seed, count).map((seed) => ({ ...params, seed })));
}

async function runJob(job: QueuedJob, signal: AbortSignal): Promise<void> {
  const p = job.params;
  const previews = form.previews.checked;
  showError(null);
  canvas.reserve(p.width > 0 ? p.width : canvas.canvas.width, p.height > 0 ? p.height : canvas.canvas.height, previews);
  setStatus(job.count > 1 ? `Starting image ${job.index} of ${job.count}…` : 'Starting…', 0);
  hook.requests++;
  let result: GenerateResult;
  try {
    result = await client.generate(
      { prompt: p.prompt, negativePrompt: p.negativePrompt, width: p.width, height: p.height, steps: p.steps, guidance: p.guidance, seed: p.seed ?? undefined, preview: previews },
      {
        signal,
        onProgress: (e) => {
          setStatus(describeProgress(e), progressFraction(e) ?? undefined);
          if (e.phase === 'denoising' && e.preview && previews) {
            canvas.drawPreview(e.preview, e.step);
            hook.previews = canvas.previews;
          }
        },
      },
    );
  } catch (e) {
    const err = toWebDiffusionError(e);
    setStatus(err.code === 'CANCELLED' ? 'Cancelled.' : 'Generation failed.', 0);
    if (err.code === 'CANCELLED') hook.lastError = { code: err.code, message: err.message };
    else showError(err);
    // The rest of the batch has the same parameters: it would fail the same way.
    if (err.code.startsWith('INVALID_')) queue.dropBatch(job.batch);
    return;
  }
  const image: ImageParams = { ...p, seed: result.seed, width: result.width, height: result.height, steps: result.steps, guidance: result.guidance };
  canvas.drawImage(result.image);
  const pngPromise = canvas.toPng();
  const thumbPromise = thumbnail(result.image);
  const { image: _image, ...meta } = result;
  hook.lastResult = meta;
  hook.seeds.push(result.seed);
  hook.generations++;
  setStatus(`Done in ${seconds(result.timings.totalMs)} on ${result.backend === 'webgpu' ? 'WebGPU' : 'WebAssembly'} · seed ${result.seed}`, 1);
  renderNotice(
    noticeBox,
    result.truncated.length
      ? result.truncated
          .map((t) => `The ${t.field === 'prompt' ? 'prompt' : 'negative prompt'} is longer than the ${t.encoder.toUpperCase()} encoder's ${t.maxTokens} tokens; these words were dropped: “${t.droppedText}”`)
          .join('\n')
      : null,
  );
  try {
    const [png, thumb] = await Promise.all([pngPromise, thumbPromise]);
    const entry: HistoryEntry = {
      id: newHistoryId(),
      createdAt: Date.now(),
      params: image,
      backend: result.backend,
      totalMs: result.timings.totalMs,
      png: await withParameters(png, formatParameters(image)),
      thumb,
    };
    setShown(entry);
    await addEntry(entry);
    await refreshHistory();
  } catch (e) {
    renderNotice(noticeBox, `The image could not be saved to the history: ${e instanceof Error ? e.message : String(e)}. Download it to keep it.`);
  } finally {
    result.image.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Filling the form from a link, a PNG or the history

interface Restore {
  params: Partial<GenerationParams>;
  /** Said in the notice: where the values came from and what was not used. */
  source: string;
  extra?: string[];
}

async function restore({ params, source, extra = [] }: Restore): Promise<void> {
  const notes = [...extra];
  const { modelId, ...rest } = params;
  form.write(rest);
  if (modelId && modelId !== form.model.value) {
    const entry = findModel(modelId);
    const canLoad = entry !== undefined && loadable(entry);
    if (canLoad && !queue.busy) void selectModel(modelId, false); // not awaited: the notes show at once
    else if (canLoad) notes.push(`The model ${entry.name} was not loaded because images are being made; choose it when they are done.`);
    else notes.push(`The model “${modelId}” is not available here; kept ${findModel(form.model.value)?.name ?? form.model.value}.`);
  }
  const snapped = form.snapBoth();
  if (snapped) notes.push(snapped);
  renderNotice(noticeBox, [source, ...notes].join('\n'));
  promptTokens.refresh();
  negativeTokens.refresh();
}

async function restoreFromPng(file: File): Promise<void> {
  showError(null);
  let text: string | null;
  try {
    text = await readParameters(new Uint8Array(await file.arrayBuffer()));
  } catch (e) {
    showError(pageError(`“${file.name}” could not be read as a PNG: ${e instanceof Error ? e.message : String(e)}.`, 'Drop a PNG saved by webdiffusion, AUTOMATIC1111 or another tool that writes a “parameters” text chunk.'));
    return;
  }
  if (!text) {
    showError(pageError(`“${file.name}” has no generation parameters.`, 'Only PNGs with a “parameters” text chunk (webdiffusion, AUTOMATIC1111, Forge, …) carry settings.'));
    return;
  }
  const r = parametersFromInfotext(text, resolveModel);
  const extra = r.ignored.length ? [`Ignored: ${r.ignored.join('; ')}.`] : [];
  await restore({ params: r.params, source: `Restored from ${file.name}: ${r.restored.join(', ')}.`, extra });
}

function restoreFromFragment(hash: string, initial: boolean): void {
  if (!isShareFragment(hash)) return;
  const { params, problems } = paramsFromFragment(hash);
  const extra = problems.length ? [`Not understood: ${problems.join(', ')}.`] : [];
  const { modelId: _m, ...rest } = params;
  // At start the model comes from the link before loading; later a link may switch it.
  void restore({ params: initial ? rest : params, source: 'Settings filled from the link. Nothing runs until you press Generate.', extra });
}

// ---------------------------------------------------------------------------------------------
// History

function setShown(entry: HistoryEntry | null): void {
  shown = entry;
  downloadButton.disabled = !entry;
}

async function refreshHistory(): Promise<void> {
  try {
    entries = await listEntries();
  } catch (e) {
    renderNotice($('history-note'), `The history is not available in this browser: ${e instanceof Error ? e.message : String(e)}`);
    entries = [];
  }
  historyView.render(entries, compareFirst?.id ?? null);
  deleteAllButton.disabled = entries.length === 0;
  refreshCapabilities();
}

const historyView = new HistoryView($('history'), $('history-count'), {
  open: (e) => {
    setShown(e);
    void canvas.showPng(e.png);
    setStatus(`Showing an image from the history · seed ${e.params.seed}`, 0);
  },
  compare: (e) => {
    if (!compareFirst || compareFirst.id === e.id) {
      compareFirst = compareFirst?.id === e.id ? null : e;
      renderNotice(noticeBox, compareFirst ? 'Choose a second image to compare with.' : null);
      historyView.render(entries, compareFirst?.id ?? null);
      return;
    }
    closeCompare?.();
    closeCompare = renderCompare($('compare-images'), compareFirst, e);
    compareBox.hidden = false;
    compareFirst = null;
    renderNotice(noticeBox, null);
    historyView.render(entries, null);
    $('compare-close').focus();
  },
  reuseParameters: (e) => {
    const { seed: _seed, ...rest } = e.params;
    void restore({ params: rest, source: 'Settings of the image restored (the seed is unchanged; “Reuse seed” sets it).' });
  },
  reuseSeed: (e) => {
    form.write({ seed: e.params.seed });
    renderNotice(noticeBox, `Seed ${e.params.seed} set.`);
  },
  remove: (e) =>
    void (async () => {
      await deleteEntry(e.id);
      if (shown?.id === e.id) setShown(null);
      if (compareFirst?.id === e.id) compareFirst = null;
      await refreshHistory();
    })(),
});

$('compare-close').addEventListener('click', () => {
  compareBox.hidden = true;
  closeCompare?.();
  closeCompare = null;
});

deleteAllButton.addEventListener('click', () => {
  if (!confirm(`Delete all ${entries.length} images from the history? This cannot be undone.`)) return;
  void (async () => {
    await deleteAll();
    setShown(null);
    compareFirst = null;
    await refreshHistory();
  })();
});

downloadButton.addEventListener('click', () => {
  if (!shown) return;
  const a = document.createElement('a');
  a.href = URL.createObjectURL(shown.png);
  a.download = `webdiffusion-${shown.params.seed}-${shown.id}.png`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
});

copyLinkButton.addEventListener('click', () => {
  const params = form.read();
  const url = shareUrl(location.href, { ...params, modelId: loadedModelId ?? params.modelId });
  shareBox.hidden = false;
  shareInput.value = url;
  shareInput.select();
  navigator.clipboard?.writeText(url).then(
    () => renderNotice(noticeBox, 'Link copied. Opening it fills these settings; it never starts anything by itself.'),
    () => renderNotice(noticeBox, 'Copy the link below. Opening it fills these settings; it never starts anything by itself.'),
  );
});

// ---------------------------------------------------------------------------------------------
// Wiring

const promptTokens = watchTokens(form.prompt, $('prompt-tokens'), (t) => client.countTokens(t));
const negativeTokens = watchTokens(form.negative, $('negative-tokens'), (t) => client.countTokens(t));

form.form.addEventListener('submit', (e) => {
  e.preventDefault();
  enqueue();
});
document.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
    e.preventDefault();
    if (!generateButton.disabled) enqueue();
  }
});
cancelButton.addEventListener('click', () => {
  setStatus('Cancelling…');
  queue.cancelRunning();
});
document.querySelector('a.skip')?.addEventListener('click', (e) => {
  e.preventDefault();
  form.prompt.focus();
});
$('random-seed').addEventListener('click', () => {
  form.write({ seed: null });
  form.seed.focus();
});
form.model.addEventListener('change', () => void selectModel(form.model.value, true));
form.backend.addEventListener('change', () => loadedModelId !== null || hook.state === 'error' ? void loadModel(form.model.value) : undefined);
form.memoryMode.addEventListener('change', () => {
  saveMemoryMode(form.memoryMode.value);
  if (loadedModelId !== null || hook.state === 'error') void loadModel(form.model.value);
});
capabilities.addEventListener('toggle', () => {
  refreshCapabilities();
});

openPng.addEventListener('change', () => {
  const file = openPng.files?.[0];
  if (file) void restoreFromPng(file);
  openPng.value = '';
});
let dragDepth = 0;
const hasFiles = (e: DragEvent) => e.dataTransfer?.types.includes('Files') ?? false;
document.addEventListener('dragenter', (e) => {
  if (!hasFiles(e)) return;
  dragDepth++;
  dropOverlay.hidden = false;
});
document.addEventListener('dragleave', () => {
  if (--dragDepth <= 0) (dragDepth = 0), (dropOverlay.hidden = true);
});
document.addEventListener('dragover', (e) => {
  if (hasFiles(e)) e.preventDefault();
});
document.addEventListener('drop', (e) => {
  e.preventDefault();
  dragDepth = 0;
  dropOverlay.hidden = true;
  const file = e.dataTransfer?.files[0];
  if (file) void restoreFromPng(file);
});
window.addEventListener('hashchange', () => restoreFromFragment(location.hash, false));

// Nothing may leave a blank or frozen page: any stray failure is shown like any other error.
window.addEventListener('error', (e) => showError(toWebDiffusionError(e.error ?? e.message)));
window.addEventListener('unhandledrejection', (e) => showError(toWebDiffusionError(e.reason)));

function start(): void {
  const query = new URLSearchParams(location.search);
  const linked = isShareFragment(location.hash) ? paramsFromFragment(location.hash).params.modelId : undefined;
  const requested = [linked, query.get('model')].find((id) => {
    const e = id ? findModel(id) : undefined;
    return e !== undefined && loadable(e);
  });
  const id = requested ?? DEFAULT_MODEL_ID;
  const backend = query.get('backend');
  if (backend === 'webgpu' || backend === 'wasm' || backend === 'auto') form.backend.value = backend;
  form.memoryMode.value = savedMemoryMode(query.get('memory'));
  renderModels(id);
  const entry = findModel(id)!;
  sizeRulesFor(entry, null);
  form.applyRecommended(entry);
  restoreFromFragment(location.hash, true);
  setState('loading');
  void refreshHistory();
  void refreshInstalled();
  void loadModel(id);
}

// Offline support and cross-origin isolation (service worker). On a host without COOP/COEP headers
// the first visit reloads once, under the worker, before the app starts.
const appVersion = $<HTMLSpanElement>('app-version');
appVersion.textContent = APP_VERSION;
const offlineStatus = mountOfflineStatus($('offline-status'));
void startServiceWorker({
  offlineReady: () => offlineStatus.setOfflineReady(),
  updateReady: mountUpdatePrompt($('update-prompt')),
  workerVersion: (v) => (appVersion.dataset.serviceWorker = v),
}).then(start);
