/** The visible queue: the running image and the waiting ones, each waiting one removable. */
import type { QueuedJob } from './job-queue.js';

export function renderQueue(list: HTMLElement, jobs: readonly QueuedJob[], remove: (id: string) => void): void {
  // One running job alone needs no list: the status line says it all.
  list.hidden = jobs.length < 2 && !(jobs[0] && jobs[0].count > 1);
  list.replaceChildren(
    ...jobs.map((j) => {
      const li = document.createElement('li');
      li.className = j.status;
      li.dataset.id = j.id;
      const seed = j.params.seed === null ? 'random seed' : `seed ${j.params.seed}`;
      const text = document.createElement('span');
      text.textContent = `${j.status === 'running' ? '▶ ' : ''}${j.count > 1 ? `${j.index}/${j.count} · ` : ''}${seed}`;
      li.append(text);
      if (j.status === 'queued') {
        const b = document.createElement('button');
        b.type = 'button';
        b.textContent = '×';
        b.setAttribute('aria-label', `Remove queued image ${j.index} of ${j.count} (${seed}) from the queue`);
        b.addEventListener('click', () => remove(j.id));
        li.append(b);
      }
      return li;
    }),
  );
}
