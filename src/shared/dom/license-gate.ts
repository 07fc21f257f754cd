/**
 * Licences that must be accepted before a model's first download (the Stability AI Community
 * License): shown in a modal dialog with a link to the text, remembered in this browser once
 * accepted (per licence URL), and never asked again for a model that is already installed.
 */
import type { ModelEntry } from '../../models/registry.js';
import { askInDialog } from './modal-dialog.js';

const KEY = (url: string) => `webdiffusion:license-accepted:${url}`;

export interface LicenseGate {
  /** True when `entry` may be downloaded now: no acceptance needed, already accepted, or accepted in the dialog. */
  allowDownload(entry: ModelEntry): Promise<boolean>;
  accepted(entry: ModelEntry): boolean;
}

export function createLicenseGate(store: Pick<Storage, 'getItem' | 'setItem'> = localStorage, host: HTMLElement = document.body): LicenseGate {
  const accepted = (entry: ModelEntry) => !entry.license.mustAccept || store.getItem(KEY(entry.license.url)) !== null;

  async function ask(entry: ModelEntry): Promise<boolean> {
    const text = document.createElement('p');
    const link = Object.assign(document.createElement('a'), { href: entry.license.url, target: '_blank', rel: 'noopener', textContent: entry.license.name });
    text.append(`${entry.name} is released under the `, link, '. Downloading it into this browser means you accept its terms. You are asked once.');
    const buttons = document.createElement('div');
    buttons.className = 'buttons';
    const accept = Object.assign(document.createElement('button'), { type: 'button', textContent: 'Accept and download' });
    const cancel = Object.assign(document.createElement('button'), { type: 'button', textContent: 'Cancel' });
    buttons.append(accept, cancel);
    const ok = await askInDialog({
      className: 'license-dialog',
      titleId: 'license-title',
      title: `${entry.name}: licence`,
      body: [text, buttons],
      host,
      cancel,
      dismissed: false,
      focus: accept,
      wire: (done) => accept.addEventListener('click', () => done(true)),
    });
    if (ok) store.setItem(KEY(entry.license.url), new Date().toISOString());
    return ok;
  }

  return {
    accepted,
    allowDownload: async (entry) => accepted(entry) || ask(entry),
  };
}
