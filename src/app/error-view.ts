/** Inline errors (code, what happened, what to do) and notices. */
import type { WebDiffusionError } from '../errors.js';

export function renderError(box: HTMLElement, e: Pick<WebDiffusionError, 'code' | 'message' | 'hint'> | null): void {
  box.hidden = !e;
  box.replaceChildren();
  if (!e) return;
  const code = document.createElement('code');
  code.textContent = e.code;
  box.append(code, ` ${e.message}`);
  if (e.hint) {
    const hint = document.createElement('span');
    hint.className = 'hint';
    hint.textContent = e.hint;
    box.append(hint);
  }
}

export function renderNotice(box: HTMLElement, text: string | null): void {
  box.hidden = !text;
  box.textContent = text ?? '';
}
