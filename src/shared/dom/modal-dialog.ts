/**
 * A modal <dialog> that asks one question: a titled dialog appended to `host`, answered through
 * `wire(done)`, by its Cancel button or by Escape (both give `dismissed`), then closed and removed.
 * Used by the licence gate and the access-token prompt.
 */
export interface ModalQuestion<T> {
  className: string;
  /** Id of the title element (the dialog is labelled by it). */
  titleId: string;
  title: string;
  /** What follows the title: text, fields, the buttons. */
  body: Node[];
  host: HTMLElement;
  cancel: HTMLButtonElement;
  /** The answer when the person cancels or presses Escape. */
  dismissed: T;
  /** Element focused when the dialog opens. */
  focus: HTMLElement;
  /** Connects the dialog's own controls to `done`. */
  wire: (done: (answer: T) => void) => void;
}

export function askInDialog<T>(q: ModalQuestion<T>): Promise<T> {
  const dialog = document.createElement('dialog');
  dialog.className = q.className;
  dialog.setAttribute('aria-labelledby', q.titleId);
  dialog.append(Object.assign(document.createElement('h2'), { id: q.titleId, textContent: q.title }), ...q.body);
  q.host.append(dialog);
  return new Promise<T>((resolve) => {
    const done = (answer: T) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    q.wire(done);
    q.cancel.addEventListener('click', () => done(q.dismissed));
    dialog.addEventListener('cancel', (e) => {
      e.preventDefault(); // Escape
      done(q.dismissed);
    });
    dialog.showModal();
    q.focus.focus();
  });
}
