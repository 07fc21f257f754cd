/**
 * Asks the person for an access token for a gated model host, in a modal dialog that names the
 * host and says where the token goes (this browser only, sent only to that host). Resolves with
 * the token typed, or null when the person cancels.
 */
import { askInDialog } from '../shared/dom/modal-dialog.js';

export interface TokenPromptOptions {
  /** A token for this host was sent and refused (wrong, expired, or the terms not accepted). */
  refused?: boolean;
  /** What the model is, for the text ("SD 3.5 Medium"). */
  what?: string;
  host?: HTMLElement;
}

let open: Promise<string | null> | null = null;

export function askForToken(sourceHost: string, options: TokenPromptOptions = {}): Promise<string | null> {
  // One dialog at a time (a load and the storage panel may both ask for the same host).
  if (open) return open;
  const text = document.createElement('p');
  text.textContent = options.refused
    ? `${sourceHost} refused the token stored for it. Check that it is valid and that your account has accepted the model's terms there, then enter it again.`
    : `${options.what ?? 'This model'} is in a gated repository: ${sourceHost} sends it only with an access token. Accept the model's terms on ${sourceHost} with your account, create a token with read access, and paste it here.`;
  const where = document.createElement('p');
  where.className = 'note';
  where.textContent = `The token is kept in this browser only and is sent only to ${sourceHost}, never to another host. You can forget it in the Storage panel.`;
  const form = document.createElement('form');
  form.method = 'dialog';
  const label = Object.assign(document.createElement('label'), { htmlFor: 'source-token', textContent: 'Access token' });
  const input = Object.assign(document.createElement('input'), { id: 'source-token', type: 'password', autocomplete: 'off', spellcheck: false, required: true });
  const buttons = document.createElement('div');
  buttons.className = 'buttons';
  const save = Object.assign(document.createElement('button'), { type: 'submit', textContent: 'Save token and continue' });
  const cancel = Object.assign(document.createElement('button'), { type: 'button', textContent: 'Cancel' });
  buttons.append(save, cancel);
  form.append(label, input, buttons);
  open = askInDialog<string | null>({
    className: 'license-dialog token-dialog',
    titleId: 'token-title',
    title: `Access token for ${sourceHost}`,
    body: [text, where, form],
    host: options.host ?? document.body,
    cancel,
    dismissed: null,
    focus: input,
    wire: (done) =>
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        const token = input.value.trim();
        if (token) done(token);
      }),
  }).finally(() => (open = null));
  return open;
}
