/**
 * The element's stylesheet. The host page's CSS reaches a shadow tree only through the host box
 * and inherited properties, so `:host` resets both with `!important` (which beats the page's
 * normal and important rules on the host: the inner context wins for important declarations).
 * Custom properties are not reset by `all`, so a page can still theme it on purpose:
 * --sd-generator-width, --sd-generator-accent, --sd-generator-background.
 */
export const ELEMENT_CSS = `
:host {
  all: initial !important;
  display: block !important;
  contain: content !important;
  box-sizing: border-box !important;
  position: relative !important;
  max-width: 100% !important;
  margin: 0 !important;
  padding: 12px !important;
  border: 1px solid #c9c9d3 !important;
  border-radius: 10px !important;
  background: var(--sd-generator-background, #fbfbfd) !important;
  color: #1d1d22 !important;
  font: 14px/20px system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif !important;
  text-align: start !important;
  direction: ltr !important;
  visibility: visible !important;
  opacity: 1 !important;
  transform: none !important;
  filter: none !important;
  writing-mode: horizontal-tb !important;
}
:host([hidden]) { display: none !important; }
*, *::before, *::after { box-sizing: border-box; }
form { display: grid; gap: 8px; margin: 0; }
label { display: grid; gap: 4px; font-weight: 600; line-height: 20px; }
textarea {
  font: inherit; font-weight: 400; color: inherit; background: #fff;
  width: 100%; height: 74px; min-height: 34px; resize: vertical; margin: 0;
  padding: 6px 8px; line-height: 20px; border: 1px solid #9d9daa; border-radius: 6px;
}
.row { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
button, a.button {
  font: inherit; font-weight: 600; line-height: 18px; text-decoration: none; cursor: pointer;
  margin: 0; padding: 6px 14px; border-radius: 6px; border: 1px solid transparent;
  display: inline-block;
}
button.primary { background: var(--sd-generator-accent, #3a4fd8); color: #fff; }
button.secondary, a.button { background: #fff; color: #1d1d22; border-color: #9d9daa; }
button:disabled { opacity: 0.5; cursor: default; }
button:focus-visible, a.button:focus-visible, textarea:focus-visible { outline: 2px solid var(--sd-generator-accent, #3a4fd8); outline-offset: 1px; }
progress { display: block; width: 100%; height: 6px; margin: 0; accent-color: var(--sd-generator-accent, #3a4fd8); }
.status { margin: 0; min-height: 20px; color: #4a4a55; font-size: 13px; line-height: 20px; overflow-wrap: anywhere; }
.frame {
  position: relative; max-width: 100%; margin: 0 auto; overflow: hidden; border-radius: 6px;
  background: repeating-conic-gradient(#ececf1 0 25%, #f7f7fa 0 50%) 0 0 / 16px 16px;
}
.frame img { display: block; width: 100%; height: 100%; object-fit: contain; }
.frame img:not([src]) { visibility: hidden; }
.error { margin: 0; padding: 6px 8px; border-radius: 6px; background: #fdecec; color: #8a1414; overflow-wrap: anywhere; }
.error code { font-family: ui-monospace, monospace; font-weight: 700; }
.notice { margin: 0; font-size: 12px; line-height: 16px; color: #6a4a00; overflow-wrap: anywhere; }
[hidden] { display: none !important; }
dialog { font: inherit; color: inherit; max-width: min(448px, 90vw); border: 1px solid #9d9daa; border-radius: 10px; padding: 16px; }
dialog::backdrop { background: rgb(0 0 0 / 0.4); }
dialog h2 { font-size: 16px; margin: 0 0 8px; }
dialog p { margin: 0 0 12px; }
dialog .buttons { display: flex; gap: 8px; justify-content: flex-end; }
dialog button:first-child { background: var(--sd-generator-accent, #3a4fd8); color: #fff; }
dialog button:last-child { background: #fff; color: #1d1d22; border-color: #9d9daa; }
`;

/**
 * The per-element part: its width follows the image width it was given (or the model's), and the
 * image frame is the image's size in CSS pixels (smaller when the page gives less room).
 */
export function sizeCss(width: number, height: number): string {
  const w = Math.max(288, Math.round(width) + 26);
  return `:host { width: var(--sd-generator-width, ${w}px) !important; } .frame { width: ${Math.round(width)}px; aspect-ratio: ${Math.round(width)} / ${Math.round(height)}; }`;
}
