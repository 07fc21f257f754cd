/**
 * The settings form: reads and writes the parameters, keeps width and height on sizes the model
 * takes (aspect presets, snapping on blur), and shows each model's state in the picker.
 */
import type { ModelEntry } from '../models/registry.js';
import { formatBytes } from '../shared/format-bytes.js';
import type { GenerationParams } from '../shared/params.js';
import { ASPECTS, aspectOf, presetSize, snapSide, type AspectId, type SideLimits } from './sizes.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

export type ModelState = { kind: 'available' } | { kind: 'loading'; percent: number | null } | { kind: 'ready' } | { kind: 'failed' };

export class SettingsForm {
  readonly form = $<HTMLFormElement>('controls');
  readonly model = $<HTMLSelectElement>('model');
  readonly prompt = $<HTMLTextAreaElement>('prompt');
  readonly negative = $<HTMLTextAreaElement>('negative');
  readonly aspect = $<HTMLSelectElement>('aspect');
  readonly width = $<HTMLInputElement>('width');
  readonly height = $<HTMLInputElement>('height');
  readonly sizeNote = $<HTMLParagraphElement>('size-note');
  readonly steps = $<HTMLInputElement>('steps');
  readonly guidance = $<HTMLInputElement>('guidance');
  readonly seed = $<HTMLInputElement>('seed');
  readonly count = $<HTMLInputElement>('count');
  readonly backend = $<HTMLSelectElement>('backend');
  readonly memoryMode = $<HTMLSelectElement>('memory-mode');
  readonly memoryNote = $<HTMLParagraphElement>('memory-note');
  readonly previews = $<HTMLInputElement>('previews');

  /** Native area of the selected model (recommended width × height) and its side limits. */
  private area = 256 * 256;
  private limits: SideLimits = { min: 64, max: 768, multipleOf: 16 };

  constructor() {
    for (const a of ASPECTS) this.aspect.append(new Option(a.id, a.id));
    this.aspect.append(new Option('Custom', 'custom'));
    this.aspect.addEventListener('change', () => {
      if (this.aspect.value === 'custom') return;
      this.setSize(presetSize(this.aspect.value as AspectId, this.area, this.limits));
      this.sizeNote.textContent = '';
    });
    for (const input of [this.width, this.height]) {
      input.addEventListener('change', () => this.snap(input));
      input.addEventListener('input', () => this.syncAspect());
    }
    this.width.step = this.height.step = '16';
  }

  /** The selected model's native area and size limits (registry first, the loaded model's once known). */
  setSizeRules(area: number, limits: SideLimits): void {
    this.area = area;
    this.limits = limits;
    this.width.min = this.height.min = String(limits.min);
    this.width.max = this.height.max = String(limits.max);
    this.width.step = this.height.step = String(limits.multipleOf);
    this.syncAspect();
  }

  private setSize(s: { width: number; height: number }): void {
    this.width.value = String(s.width);
    this.height.value = String(s.height);
    this.syncAspect();
  }

  private syncAspect(): void {
    this.aspect.value = aspectOf(Number(this.width.value), Number(this.height.value), this.area, this.limits);
  }

  /** Snaps one side to the model's grid and says so; returns whether the value changed. */
  snap(input: HTMLInputElement): boolean {
    const raw = input.value.trim();
    if (raw === '') return false;
    const value = Number(raw);
    const snapped = snapSide(value, this.limits);
    if (snapped === value) {
      this.sizeNote.textContent = '';
      return false;
    }
    input.value = String(snapped);
    this.syncAspect();
    const side = input === this.width ? 'Width' : 'Height';
    this.sizeNote.textContent = `${side} ${raw} → ${snapped}: sizes are multiples of ${this.limits.multipleOf} from ${this.limits.min} to ${this.limits.max} for this model.`;
    return true;
  }

  /** Snaps both sides (after filling the form from a link or a PNG). */
  snapBoth(): string | null {
    const before = `${this.width.value}×${this.height.value}`;
    const changed = [this.width, this.height].map((i) => this.snap(i)).some(Boolean);
    if (!changed) return null;
    const note = `Size ${before} → ${this.width.value}×${this.height.value}: sizes are multiples of ${this.limits.multipleOf} from ${this.limits.min} to ${this.limits.max} for this model.`;
    this.sizeNote.textContent = note;
    return note;
  }

  /** The parameters as typed (numbers may be NaN: the worker says what is wrong). */
  read(): GenerationParams {
    const num = (i: HTMLInputElement) => (i.value.trim() === '' ? Number.NaN : Number(i.value));
    const seedText = this.seed.value.trim();
    return {
      prompt: this.prompt.value,
      negativePrompt: this.negative.value,
      width: num(this.width),
      height: num(this.height),
      steps: num(this.steps),
      guidance: num(this.guidance),
      seed: seedText === '' ? null : Number(seedText),
      modelId: this.model.value,
    };
  }

  /** The seed field as typed: null (random), a seed, or the text that is not one. */
  seedText(): string {
    return this.seed.value.trim();
  }

  imageCount(): number {
    return this.count.value.trim() === '' ? Number.NaN : Number(this.count.value);
  }

  /** Writes the given fields (model excluded: the caller loads models). */
  write(p: Partial<GenerationParams>): void {
    if (p.prompt !== undefined) this.prompt.value = p.prompt;
    if (p.negativePrompt !== undefined) this.negative.value = p.negativePrompt;
    if (p.width !== undefined) this.width.value = String(p.width);
    if (p.height !== undefined) this.height.value = String(p.height);
    if (p.steps !== undefined) this.steps.value = String(p.steps);
    if (p.guidance !== undefined) this.guidance.value = String(p.guidance);
    if (p.seed !== undefined) this.seed.value = p.seed === null ? '' : String(p.seed);
    this.syncAspect();
  }

  /** The recommended settings of a model, at the current aspect ratio. */
  applyRecommended(entry: ModelEntry): void {
    const aspect = this.aspect.value === 'custom' ? '1:1' : (this.aspect.value as AspectId);
    const size = presetSize(aspect, this.area, this.limits);
    this.write({ steps: entry.recommended.steps, guidance: entry.recommended.guidance, ...size });
  }

  /** Fills the model picker; each option says the model's state and size. `loadable` says whether a pack URL exists. */
  renderModels(entries: readonly ModelEntry[], states: ReadonlyMap<string, ModelState>, selected: string, loadable: (m: ModelEntry) => boolean): void {
    const options = entries.map((m) => {
      const ok = loadable(m);
      const opt = new Option(modelLabel(m, states.get(m.id), ok), m.id);
      opt.disabled = !ok;
      opt.title = ok ? m.description : (m.unavailableReason ?? '');
      return opt;
    });
    this.model.replaceChildren(...options);
    this.model.value = selected;
  }

  /** Disables what must not change while images are being made. */
  lockModel(locked: boolean): void {
    this.model.disabled = locked;
    this.backend.disabled = locked;
    this.memoryMode.disabled = locked;
  }
}

export function modelLabel(m: ModelEntry, state: ModelState | undefined, loadable = m.path !== null): string {
  const size = m.approxDownloadBytes ? `, ${formatBytes(m.approxDownloadBytes)}` : '';
  if (!loadable) return `${m.name} (not downloadable yet${size})`;
  const s = state ?? { kind: 'available' };
  const status =
    s.kind === 'ready' ? 'ready' : s.kind === 'loading' ? (s.percent === null ? 'loading…' : `loading ${s.percent}%`) : s.kind === 'failed' ? 'failed to load' : 'available';
  return `${m.name} (${status}${size}): ${m.label}`;
}
