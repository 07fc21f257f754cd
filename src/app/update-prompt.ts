/**
 * The prompt shown when a new deployment is ready: "A new version is ready — Reload". Nothing
 * changes until the person accepts (a reload stops an image being made, so it is their call);
 * "Later" hides the prompt, and it comes back at the next visit or update check.
 */
export type ShowUpdatePrompt = (accept: () => void) => void;

export function mountUpdatePrompt(box: HTMLElement): ShowUpdatePrompt {
  return (accept) => {
    const text = document.createElement('span');
    text.textContent = 'A new version is ready — ';
    const reload = document.createElement('button');
    reload.type = 'button';
    reload.className = 'small';
    reload.textContent = 'Reload';
    const later = document.createElement('button');
    later.type = 'button';
    later.className = 'small';
    later.textContent = 'Later';
    reload.addEventListener('click', () => {
      reload.disabled = later.disabled = true;
      text.textContent = 'Loading the new version…';
      accept();
    });
    later.addEventListener('click', () => {
      box.hidden = true;
    });
    box.replaceChildren(text, reload, later);
    box.hidden = false;
  };
}
