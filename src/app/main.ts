/**
 * The page: reads the form, drives the generator client, draws results. DOM only; it never
 * imports onnxruntime (the worker does).
 */
import { GeneratorClient } from '../client/generator-client.js';
import { toWebDiffusionError, type WebDiffusionError } from '../errors.js';
import { DEFAULT_MODEL_ID, findModel, MODEL_REGISTRY } from '../models/registry.js';
import type { BackendPreference, GenerateResult, LoadedModel, ProgressEvent } from '../protocol.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const form = $<HTMLFormElement>('controls');
const modelSelect = $<HTMLSelectElement>('model');
const modelNote = $<HTMLParagraphElement>('model-note');
const promptInput = $<HTMLTextAreaElement>('prompt');
const negativeInput = $<HTMLTextAreaElement>('negative');
const widthInput = $<HTMLInputElement>('width');
const heightInput = $<HTMLInputElement>('height');
const stepsInput = $<HTMLInputElement>('steps');
const guidanceInput = $<HTMLInputElement>('guidance');
const seedInput = $<HTMLInputElement>('seed');
const backendSelect = $<HTMLSelectElement>('backend');
const generateButton = $<HTMLButtonElement>('generate');
const cancelButton = $<HTMLButtonElement>('cancel');
const statusBox = $<HTMLDivElement>('status');
const errorBox = $<HTMLDivElement>('error');
const noticeBox = $<HTMLDivElement>('notice');
const backendNotice = $<HTMLDivElement>('backend-notice');
const canvas = $<HTMLCanvasElement>('canvas');
const backendInfo = $<HTMLParagraphElement>('backend-info');

type AppState = 'loading' | 'ready' | 'generating' | 'error';

/** A small typed hook for end-to-end tests and the curious (tldraw's habit). */
interface TestHook {
  state: AppState;
  model: LoadedModel | null;
  lastResult: Omit<GenerateResult, 'image'> | null;
  lastError: { code: string; message: string } | null;
  generations: number;
}
const hook: TestHook = { state: 'loading', model: null, lastResult: null, lastError: null, generations: 0 };
(window as unknown as { __webdiffusion: TestHook }).__webdiffusion = hook;

const client = GeneratorClient.create();
let current: AbortController | null = null;

function setState(state: AppState): void {
  hook.state = state;
  document.body.dataset.state = state;
  generateButton.disabled = state !== 'ready';
  cancelButton.disabled = state !== 'generating';
}

function showError(e: WebDiffusionError | null): void {
  hook.lastError = e ? { code: e.code, message: e.message } : null;
  errorBox.hidden = !e;
  errorBox.replaceChildren();
  if (!e) return;
  const code = document.createElement('code');
  code.textContent = e.code;
  errorBox.append(code, ` ${e.message}`);
  if (e.hint) errorBox.append(document.createElement('br'), e.hint);
}

function showNotice(text: string | null, box: HTMLElement = noticeBox): void {
  box.hidden = !text;
  box.textContent = text ?? '';
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function describeProgress(e: ProgressEvent): string {
  switch (e.phase) {
    case 'loading':
      return e.component === 'done' ? 'Model ready' : `Loading model: ${e.component} (${e.done}/${e.total})`;
    case 'encoding':
      return 'Encoding prompt…';
    case 'denoising':
      return `Step ${e.step}/${e.totalSteps} · ${seconds(e.elapsedMs / e.step)}/step · ${seconds(e.etaMs)} left`;
    case 'decoding':
      return 'Decoding image…';
  }
}

function populateModels(): void {
  for (const m of MODEL_REGISTRY.filter((e) => e.listed !== false)) {
    const opt = document.createElement('option');
    opt.value = m.id;
    opt.textContent = m.path ? `${m.name}: ${m.label}` : `${m.name} (not downloadable yet)`;
    opt.disabled = !m.path;
    opt.title = m.path ? m.description : (m.unavailableReason ?? '');
    modelSelect.append(opt);
  }
  const fromUrl = new URLSearchParams(location.search).get('model');
  modelSelect.value = fromUrl && findModel(fromUrl)?.path ? fromUrl : DEFAULT_MODEL_ID;
  const backend = new URLSearchParams(location.search).get('backend');
  if (backend === 'webgpu' || backend === 'wasm' || backend === 'auto') backendSelect.value = backend;
}

async function loadSelectedModel(): Promise<void> {
  const entry = findModel(modelSelect.value);
  if (!entry?.path) return;
  setState('loading');
  showError(null);
  showNotice(null);
  modelNote.textContent = entry.description;
  for (const [input, value] of [
    [stepsInput, entry.recommended.steps],
    [guidanceInput, entry.recommended.guidance],
    [widthInput, entry.recommended.width],
    [heightInput, entry.recommended.height],
  ] as const) input.value = String(value);
  try {
    const model = await client.load(
      { modelId: entry.id, baseUrl: new URL(entry.path, document.baseURI).href, backend: backendSelect.value as BackendPreference },
      { onProgress: (e) => (statusBox.textContent = describeProgress(e)) },
    );
    hook.model = model;
    widthInput.min = heightInput.min = String(model.limits.minSide);
    widthInput.max = heightInput.max = String(model.limits.maxSide);
    const b = model.backend;
    backendInfo.textContent = `${b.description} · shader-f16: ${b.shaderF16 ? 'yes' : 'no'} · cross-origin isolated: ${b.crossOriginIsolated ? 'yes' : 'no'} · weights: ${model.variant}`;
    showNotice(
      b.kind === 'wasm'
        ? 'WebGPU is not available, so images are computed on the CPU and will be slow. Chrome and Edge 113+ have WebGPU on by default; in Firefox and Safari, enable it in the browser settings.'
        : null,
      backendNotice,
    );
    statusBox.textContent = `Ready (${seconds(model.loadMs)} to load). Press Generate.`;
    setState('ready');
  } catch (e) {
    const err = toWebDiffusionError(e);
    statusBox.textContent = 'The model could not be loaded.';
    showError(err);
    setState('error');
  }
}

function readNumber(input: HTMLInputElement): number {
  return input.value.trim() === '' ? Number.NaN : Number(input.value);
}

async function generate(): Promise<void> {
  if (hook.state !== 'ready') return;
  setState('generating');
  showError(null);
  statusBox.textContent = 'Starting…';
  const controller = new AbortController();
  current = controller;
  const seedText = seedInput.value.trim();
  try {
    const result = await client.generate(
      {
        prompt: promptInput.value,
        negativePrompt: negativeInput.value,
        width: readNumber(widthInput),
        height: readNumber(heightInput),
        steps: readNumber(stepsInput),
        guidance: readNumber(guidanceInput),
        seed: seedText === '' ? undefined : Number(seedText),
      },
      { signal: controller.signal, onProgress: (e) => (statusBox.textContent = describeProgress(e)) },
    );
    canvas.width = result.width;
    canvas.height = result.height;
    const ctx = canvas.getContext('2d')!;
    ctx.drawImage(result.image, 0, 0);
    result.image.close();
    const { image: _image, ...meta } = result;
    hook.lastResult = meta;
    hook.generations++;
    statusBox.textContent = `Done in ${seconds(result.timings.totalMs)} on ${result.backend === 'webgpu' ? 'WebGPU' : 'WebAssembly'} · seed ${result.seed}`;
    showNotice(
      result.truncated.length
        ? result.truncated
            .map((t) => `The ${t.field === 'prompt' ? 'prompt' : 'negative prompt'} is longer than the ${t.encoder.toUpperCase()} encoder's ${t.maxTokens} tokens; these words were dropped: “${t.droppedText}”`)
            .join('\n')
        : null,
    );
  } catch (e) {
    const err = toWebDiffusionError(e);
    statusBox.textContent = err.code === 'CANCELLED' ? 'Cancelled.' : 'Generation failed.';
    if (err.code !== 'CANCELLED') showError(err);
    hook.lastError = { code: err.code, message: err.message };
  } finally {
    current = null;
    setState('ready');
  }
}

form.addEventListener('submit', (e) => {
  e.preventDefault();
  void generate();
});
promptInput.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
    e.preventDefault();
    void generate();
  }
});
cancelButton.addEventListener('click', () => {
  statusBox.textContent = 'Cancelling…';
  current?.abort();
});
modelSelect.addEventListener('change', () => void loadSelectedModel());
backendSelect.addEventListener('change', () => void loadSelectedModel());

populateModels();
void loadSelectedModel();
