/** Shared bits of the journey specs: which project runs them, and a canvas fingerprint. */
import { test } from '@playwright/test';

/** Page-side journeys do not depend on the backend: run them once, in the fast `wasm` project. */
export function wasmOnly(reason = 'page-side behaviour, independent of the backend: runs once, in the wasm project'): void {
  test.skip(test.info().project.name !== 'wasm', reason);
}

/** Installs a listener that fingerprints the canvas after every preview the page draws. */
export const RECORD_PREVIEWS = () => {
  const prints: { step: number; print: string; box: string }[] = [];
  (window as unknown as { __previewPrints: typeof prints }).__previewPrints = prints;
  window.addEventListener('webdiffusion:preview', (e) => {
    const c = document.getElementById('canvas') as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let h = 0;
    for (let i = 0; i < d.length; i += 97) h = (h * 31 + d[i]!) | 0;
    const r = document.getElementById('canvas-box')!.getBoundingClientRect();
    prints.push({ step: (e as CustomEvent<{ step: number }>).detail.step, print: `${c.width}x${c.height}:${h}`, box: `${r.x},${r.y},${r.width},${r.height}` });
  });
};
