/**
 * The history grid: a thumbnail per image with its prompt and parameters, and what can be done
 * with it. Rendering only; the actions are the caller's.
 */
import type { HistoryEntry } from './history-store.js';
import { describeParams } from '../shared/params.js';

export interface HistoryActions {
  open(entry: HistoryEntry): void;
  compare(entry: HistoryEntry): void;
  reuseParameters(entry: HistoryEntry): void;
  reuseSeed(entry: HistoryEntry): void;
  remove(entry: HistoryEntry): void;
}

export class HistoryView {
  private urls: string[] = [];

  constructor(
    private readonly list: HTMLElement,
    private readonly count: HTMLElement,
    private readonly actions: HistoryActions,
  ) {}

  render(entries: readonly HistoryEntry[], selectedId: string | null): void {
    for (const u of this.urls) URL.revokeObjectURL(u);
    this.urls = [];
    this.count.textContent = entries.length ? `(${entries.length})` : '';
    this.list.replaceChildren(...entries.map((e, i) => this.item(e, i + 1, e.id === selectedId)));
  }

  private item(e: HistoryEntry, n: number, selected: boolean): HTMLLIElement {
    const li = document.createElement('li');
    li.dataset.id = e.id;
    li.classList.toggle('selected', selected);
    const img = document.createElement('img');
    const url = URL.createObjectURL(e.thumb);
    this.urls.push(url);
    img.src = url;
    img.alt = `Image ${n}: ${e.params.prompt || '(empty prompt)'}`;
    img.width = 176;
    img.height = 176;
    const prompt = document.createElement('p');
    prompt.className = 'prompt';
    prompt.textContent = e.params.prompt || '(empty prompt)';
    prompt.title = e.params.negativePrompt ? `${e.params.prompt}\nNegative: ${e.params.negativePrompt}` : e.params.prompt;
    const params = document.createElement('p');
    params.className = 'params';
    params.textContent = `${describeParams(e.params)} · ${e.params.modelId}`;
    const actions = document.createElement('div');
    actions.className = 'actions';
    const button = (text: string, label: string, run: () => void, pressed?: boolean) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = text;
      b.setAttribute('aria-label', `${label} (image ${n})`);
      if (pressed !== undefined) b.setAttribute('aria-pressed', String(pressed));
      b.addEventListener('click', run);
      return b;
    };
    actions.append(
      button('Open', 'Open', () => this.actions.open(e)),
      button('Compare', 'Compare', () => this.actions.compare(e), selected),
      Object.assign(button('Reuse parameters', 'Reuse parameters', () => this.actions.reuseParameters(e)), { className: 'wide' }),
      button('Reuse seed', 'Reuse seed', () => this.actions.reuseSeed(e)),
      button('Delete', 'Delete', () => this.actions.remove(e)),
    );
    li.append(img, prompt, params, actions);
    return li;
  }
}

/** Two images side by side. */
export function renderCompare(container: HTMLElement, a: HistoryEntry, b: HistoryEntry): () => void {
  const urls: string[] = [];
  container.replaceChildren(
    ...[a, b].map((e) => {
      const fig = document.createElement('figure');
      const img = document.createElement('img');
      const url = URL.createObjectURL(e.png);
      urls.push(url);
      img.src = url;
      img.alt = e.params.prompt;
      const cap = document.createElement('figcaption');
      cap.textContent = `${e.params.prompt} · ${describeParams(e.params)}`;
      fig.append(img, cap);
      return fig;
    }),
  );
  return () => urls.forEach((u) => URL.revokeObjectURL(u));
}
