/**
 * <sd-generator>: a compact text-to-image box for any page. A prompt, Generate / Cancel, progress,
 * the image and a download link, in an open shadow root the page's CSS cannot reach. Every
 * element on a page shares one worker (see src/lib/worker-host.ts).
 *
 * Events (CustomEvent, bubbling and composed):
 *   sd-progress  detail: GeneratorProgress (phase, fraction 0…1, message, …)
 *   sd-image     detail: { blob, url, params, backend, timings }
 *   sd-error     detail: { code, message, hint } (code CANCELLED when Cancel stopped it)
 */
import { createLicenseGate } from '../shared/dom/license-gate.js';
import { toWebDiffusionError, type ErrorInfo } from '../errors.js';
import { createGenerator, type GeneratedImage, type Generator, type GeneratorProgress, type ImageParameters } from '../lib/generator.js';
import { findModel } from '../models/registry.js';
import type { BackendKind, StageTimings } from '../protocol.js';
import { displaySize, ELEMENT_ATTRIBUTES, parseConfig, type ElementConfig } from './config.js';
import { ELEMENT_CSS, sizeCss } from './styles.js';

export interface ImageEventDetail {
  /** The PNG, with its settings in a "parameters" text chunk. */
  blob: Blob;
  /** An object URL of `blob`, valid while the element shows this image. */
  url: string;
  params: ImageParameters;
  backend: BackendKind;
  timings: StageTimings;
}
export type ErrorEventDetail = Pick<ErrorInfo, 'code' | 'message' | 'hint'>;

export interface SdGeneratorEventMap {
  'sd-progress': CustomEvent<GeneratorProgress>;
  'sd-image': CustomEvent<ImageEventDetail>;
  'sd-error': CustomEvent<ErrorEventDetail>;
}

const TEMPLATE = `
<form part="form" novalidate>
  <label part="label">Prompt<textarea part="prompt" name="prompt" rows="3" spellcheck="true"></textarea></label>
  <div class="row">
    <button part="button generate" class="primary" type="submit" name="generate">Generate</button>
    <button part="button cancel" class="secondary" type="button" name="cancel" disabled>Cancel</button>
    <a part="button download" class="button" download hidden>Download PNG</a>
  </div>
  <progress part="progress" max="1" value="0"></progress>
  <p class="status" part="status" role="status" aria-live="polite"></p>
  <p class="error" part="error" role="alert" hidden></p>
  <p class="notice" part="notice" hidden></p>
  <div class="frame" part="frame"><img part="image" alt="" decoding="async"></div>
  <div class="dialogs"></div>
</form>`;

/** localStorage where the page allows it, else memory (a sandboxed frame): licence acceptance is remembered. */
function licenseStore(): Pick<Storage, 'getItem' | 'setItem'> {
  try {
    const s = globalThis.localStorage;
    s.getItem('webdiffusion:probe');
    return s;
  } catch {
    const m = new Map<string, string>();
    return { getItem: (k) => m.get(k) ?? null, setItem: (k, v) => void m.set(k, v) };
  }
}

export class SdGeneratorElement extends HTMLElement {
  static readonly observedAttributes = [...ELEMENT_ATTRIBUTES];

  private readonly root: ShadowRoot;
  private readonly sizeSheet: { update(css: string): void };
  private readonly ui: {
    form: HTMLFormElement;
    prompt: HTMLTextAreaElement;
    generate: HTMLButtonElement;
    cancel: HTMLButtonElement;
    download: HTMLAnchorElement;
    progress: HTMLProgressElement;
    status: HTMLParagraphElement;
    error: HTMLParagraphElement;
    notice: HTMLParagraphElement;
    image: HTMLImageElement;
    dialogs: HTMLDivElement;
  };
  private config: ElementConfig = parseConfig(() => null).config;
  private generator: Generator | null = null;
  private running: AbortController | null = null;
  private shownUrl: string | null = null;
  private lastImage: ImageEventDetail | null = null;
  /** The prompt attribute last written into the text box (replaced only while the person has not edited it). */
  private appliedPrompt = '';

  constructor() {
    super();
    this.root = this.attachShadow({ mode: 'open' });
    this.sizeSheet = this.installStyles();
    const template = document.createElement('template');
    template.innerHTML = TEMPLATE;
    this.root.append(template.content.cloneNode(true));
    const q = <T extends Element>(selector: string) => this.root.querySelector<T & Element>(selector)!;
    this.ui = {
      form: q<HTMLFormElement>('form'),
      prompt: q<HTMLTextAreaElement>('textarea'),
      generate: q<HTMLButtonElement>('button[name=generate]'),
      cancel: q<HTMLButtonElement>('button[name=cancel]'),
      download: q<HTMLAnchorElement>('a[download]'),
      progress: q<HTMLProgressElement>('progress'),
      status: q<HTMLParagraphElement>('.status'),
      error: q<HTMLParagraphElement>('.error'),
      notice: q<HTMLParagraphElement>('.notice'),
      image: q<HTMLImageElement>('img'),
      dialogs: q<HTMLDivElement>('.dialogs'),
    };
    this.ui.form.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.generate();
    });
    this.ui.prompt.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        if (!this.ui.generate.disabled) void this.generate();
      }
    });
    this.ui.cancel.addEventListener('click', () => this.cancel());
  }

  /** Constructable stylesheets where supported (not subject to a page's style-src CSP), else <style>. */
  private installStyles(): { update(css: string): void } {
    if ('adoptedStyleSheets' in this.root && typeof CSSStyleSheet !== 'undefined' && 'replaceSync' in CSSStyleSheet.prototype) {
      const base = new CSSStyleSheet();
      base.replaceSync(ELEMENT_CSS);
      const size = new CSSStyleSheet();
      this.root.adoptedStyleSheets = [base, size];
      return { update: (css) => size.replaceSync(css) };
    }
    const base = Object.assign(document.createElement('style'), { textContent: ELEMENT_CSS });
    const size = document.createElement('style');
    this.root.append(base, size);
    return { update: (css) => void (size.textContent = css) };
  }

  connectedCallback(): void {
    this.configure();
  }

  disconnectedCallback(): void {
    // A move (removed and inserted again in the same task) keeps the generator and its run.
    queueMicrotask(() => {
      if (this.isConnected) return;
      this.cancel();
      this.generator?.dispose();
      this.generator = null;
    });
  }

  attributeChangedCallback(name: string, oldValue: string | null, newValue: string | null): void {
    if (oldValue === newValue || !this.isConnected) return;
    if (name === 'model' || name === 'pack-base' || name === 'backend') {
      this.generator?.dispose();
      this.generator = null;
    }
    this.configure();
  }

  /** The prompt in the text box. */
  get prompt(): string {
    return this.ui.prompt.value;
  }
  set prompt(value: string) {
    this.ui.prompt.value = value;
  }

  /** The last image made (null before the first). */
  get image(): ImageEventDetail | null {
    return this.lastImage;
  }

  /** Generates an image from the prompt in the box; resolves with it, or null when it failed or was cancelled. */
  async generate(): Promise<ImageEventDetail | null> {
    if (this.running) return null;
    const generator = this.ensureGenerator();
    if (!generator) return null;
    const run = new AbortController();
    this.running = run;
    this.setBusy(true);
    this.showError(null);
    this.setStatus('Starting…', 0);
    const c = this.config;
    let result: GeneratedImage;
    try {
      result = await generator.generate({
        prompt: this.ui.prompt.value,
        negativePrompt: c.negativePrompt,
        width: c.width,
        height: c.height,
        steps: c.steps,
        guidance: c.guidance,
        seed: c.seed,
        signal: run.signal,
        onProgress: (p) => {
          this.setStatus(p.message, p.fraction ?? undefined);
          this.emit('sd-progress', p);
        },
      });
    } catch (e) {
      const err = toWebDiffusionError(e);
      if (err.code === 'CANCELLED') this.setStatus('Cancelled.', 0);
      else {
        this.setStatus('Failed.', 0);
        this.showError(err);
      }
      this.emit('sd-error', { code: err.code, message: err.message, hint: err.hint });
      return null;
    } finally {
      this.running = null;
      this.setBusy(false);
    }
    result.bitmap.close();
    const url = URL.createObjectURL(result.blob);
    if (this.shownUrl) URL.revokeObjectURL(this.shownUrl);
    this.shownUrl = url;
    const p = result.params;
    this.ui.image.src = url;
    this.ui.image.alt = p.prompt ? `Generated image: ${p.prompt}` : 'Generated image';
    this.ui.download.href = url;
    this.ui.download.download = `sd-${p.model}-${p.seed}.png`;
    this.ui.download.hidden = false;
    this.setStatus(`Done in ${(result.timings.totalMs / 1000).toFixed(1)} s on ${result.backend === 'webgpu' ? 'WebGPU' : 'WebAssembly'} · seed ${p.seed}`, 1);
    this.lastImage = { blob: result.blob, url, params: p, backend: result.backend, timings: result.timings };
    this.emit('sd-image', this.lastImage);
    return this.lastImage;
  }

  /** Stops the running download or generation (at its next step). */
  cancel(): void {
    if (!this.running) return;
    this.setStatus('Cancelling…');
    this.running.abort();
  }

  private configure(): void {
    const { config, problems } = parseConfig((name) => this.getAttribute(name));
    this.config = config;
    const entry = findModel(config.model);
    const size = displaySize(config, entry?.recommended ?? { width: 256, height: 256 });
    this.sizeSheet.update(sizeCss(size.width, size.height));
    if (this.ui.prompt.value === this.appliedPrompt) this.ui.prompt.value = config.prompt;
    this.appliedPrompt = config.prompt;
    this.ui.notice.hidden = problems.length === 0;
    this.ui.notice.textContent = problems.join(' ');
    if (!this.running && !this.lastImage) this.setStatus(entry ? `${entry.name}: type a prompt and press Generate.` : '', 0);
    this.ensureGenerator();
  }

  private ensureGenerator(): Generator | null {
    if (this.generator) return this.generator;
    const gate = createLicenseGate(licenseStore(), this.ui.dialogs);
    try {
      this.generator = createGenerator({
        model: this.config.model,
        baseUrl: this.config.packBase ?? undefined,
        backend: this.config.backend,
        acceptLicense: (license) => gate.allowDownload(findModel(license.modelId)!),
      });
      this.ui.generate.disabled = false;
      this.showError(null);
      return this.generator;
    } catch (e) {
      const err = toWebDiffusionError(e);
      this.ui.generate.disabled = true;
      this.showError(err);
      this.emit('sd-error', { code: err.code, message: err.message, hint: err.hint });
      return null;
    }
  }

  private setBusy(busy: boolean): void {
    this.ui.generate.disabled = busy || !this.generator;
    this.ui.cancel.disabled = !busy;
    this.ui.prompt.readOnly = busy;
    this.toggleAttribute('busy', busy);
  }

  private setStatus(text: string, fraction?: number): void {
    this.ui.status.textContent = text;
    if (fraction !== undefined) this.ui.progress.value = fraction;
  }

  private showError(err: ErrorEventDetail | null): void {
    const box = this.ui.error;
    box.hidden = !err;
    box.replaceChildren();
    if (!err) return;
    const code = Object.assign(document.createElement('code'), { textContent: err.code });
    box.append(code, ` ${err.message}`, ...(err.hint ? [document.createElement('br'), err.hint] : []));
  }

  private emit<K extends keyof SdGeneratorEventMap>(type: K, detail: SdGeneratorEventMap[K]['detail']): void {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }
}
