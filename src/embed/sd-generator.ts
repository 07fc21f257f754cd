/**
 * The one-script-tag entry: defines <sd-generator> (once, even when loaded twice).
 *   <script type="module" src="webdiffusion/sd-generator.js"></script>
 *   <sd-generator model="tiny-sd3" pack-base="models/" prompt="a lighthouse at dusk"></sd-generator>
 */
import { SdGeneratorElement, type SdGeneratorEventMap } from './sd-generator-element.js';

export const TAG_NAME = 'sd-generator';

if (typeof customElements !== 'undefined' && !customElements.get(TAG_NAME)) customElements.define(TAG_NAME, SdGeneratorElement);

export { SdGeneratorElement };
export type { ErrorEventDetail, ImageEventDetail, SdGeneratorEventMap } from './sd-generator-element.js';

declare global {
  interface HTMLElementTagNameMap {
    'sd-generator': SdGeneratorElement;
  }
  // Typed listeners: el.addEventListener('sd-image', (e) => e.detail.blob).
  interface HTMLElementEventMap extends SdGeneratorEventMap {}
}
