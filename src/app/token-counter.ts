/**
 * Live token counters under the prompts: "CLIP 12/77 · T5 14/256", turning into a warning that
 * names the dropped words when a text is too long. Counting runs in the worker, debounced.
 */
import type { TokenCounts } from '../protocol.js';

export function describeTokens(c: TokenCounts): { text: string; over: boolean } {
  const parts = [`CLIP ${c.clip.count}/${c.clip.max}`];
  if (c.t5) parts.push(`T5 ${c.t5.count}/${c.t5.max}`);
  const dropped: string[] = [];
  if (c.clip.droppedText) dropped.push(`CLIP drops “${c.clip.droppedText}”`);
  if (c.t5?.droppedText) dropped.push(`T5 drops “${c.t5.droppedText}”`);
  const text = parts.join(' · ');
  return dropped.length ? { text: `${text}: too long. ${dropped.join('; ')}`, over: true } : { text, over: false };
}

export interface TokenCounter {
  /** Counts again now (after a model load or a programmatic change). */
  refresh(): void;
}

export function watchTokens(input: HTMLTextAreaElement, output: HTMLElement, count: (text: string) => Promise<TokenCounts>, delayMs = 200): TokenCounter {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let seq = 0;
  const run = async () => {
    const mine = ++seq;
    try {
      const c = await count(input.value);
      if (mine !== seq) return;
      const { text, over } = describeTokens(c);
      output.textContent = text;
      output.classList.toggle('over', over);
    } catch {
      if (mine !== seq) return;
      output.textContent = 'Token counts appear once the model is loaded.';
      output.classList.remove('over');
    }
  };
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => void run(), delayMs);
  });
  return {
    refresh: () => {
      clearTimeout(timer);
      void run();
    },
  };
}
