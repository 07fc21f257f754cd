/**
 * The page's side of the service worker (src/sw/service-worker.ts), through workbox-window:
 * registers it, reports when the app is available offline, offers new deployments, and gains
 * cross-origin isolation on hosts that send no COOP/COEP headers (the coi-serviceworker technique).
 *
 * Cross-origin isolation: the worker adds COOP/COEP to what it serves, so a page it controls is
 * isolated. On the first visit to such a host the page is not controlled yet: it registers the
 * worker, waits until the worker controls it, and reloads once. A session flag makes sure it never
 * reloads twice: if a reload did not isolate the page (a browser without SharedArrayBuffer, service
 * workers blocked, a hard reload), the app simply runs single-threaded. With headers from the server
 * the page is isolated from the start and nothing reloads.
 *
 * Updates: see the comment at the top of src/sw/service-worker.ts. The page shows the prompt when a
 * new worker waits; accepting sends SKIP_WAITING and reloads when the new worker takes control.
 */
import { messageSW, Workbox } from 'workbox-window';
import { GET_VERSION, type VersionReply } from '../sw/messages.js';

/** The built service worker, next to index.html (vite-plugin-pwa writes it from src/sw/service-worker.ts). */
export const SERVICE_WORKER_FILE = 'service-worker.js';
/** sessionStorage key: this tab already reloaded once to gain cross-origin isolation. */
export const RELOADED_FOR_ISOLATION = 'webdiffusion:reloaded-for-isolation';
/** How often an open tab asks whether a new deployment exists (also on returning to the tab and on reconnecting). */
export const UPDATE_CHECK_MS = 60 * 60 * 1000;

export type IsolationPlan = 'isolated' | 'reload-for-isolation' | 'without-isolation';

/** What this page load does about cross-origin isolation. */
export function planIsolation(s: { isolated: boolean; serviceWorkers: boolean; reloadedBefore: boolean }): IsolationPlan {
  if (s.isolated) return 'isolated';
  return s.serviceWorkers && !s.reloadedBefore ? 'reload-for-isolation' : 'without-isolation';
}

export interface ServiceWorkerUi {
  /** The worker controls the page: the app opens and runs with no network. */
  offlineReady(): void;
  /** A new deployment is ready; `accept` switches to it (reloads the page). */
  updateReady(accept: () => void): void;
  /** The version of the worker that serves this page. */
  workerVersion(version: string): void;
}

/** sessionStorage, when the browser lets the page use it. */
function sessionFlag(key: string) {
  const store = (() => {
    try {
      return window.sessionStorage;
    } catch {
      return null;
    }
  })();
  return {
    get: () => store?.getItem(key) === '1',
    set: () => store?.setItem(key, '1'),
    clear: () => store?.removeItem(key),
  };
}

/**
 * Registers the service worker (production builds only; `vite` dev serves no worker). Resolves when
 * the app may start: at once, unless this load is about to be replaced by the reload that gains
 * cross-origin isolation; then it resolves only if the worker cannot be installed.
 */
export function startServiceWorker(ui: ServiceWorkerUi): Promise<void> {
  if (!import.meta.env.PROD || !('serviceWorker' in navigator)) return Promise.resolve();
  const container = navigator.serviceWorker;
  const reloaded = sessionFlag(RELOADED_FOR_ISOLATION);
  const plan = planIsolation({ isolated: self.crossOriginIsolated === true, serviceWorkers: true, reloadedBefore: reloaded.get() });
  if (plan === 'isolated') reloaded.clear();
  const reloadForIsolation = () => {
    reloaded.set();
    location.reload();
  };

  const wb = new Workbox(new URL(SERVICE_WORKER_FILE, document.baseURI).href);
  let controlled = container.controller !== null;
  let accepted = false;
  const reportVersion = () => {
    const controller = container.controller;
    if (controller) void (messageSW(controller, { type: GET_VERSION }) as Promise<VersionReply>).then((r) => ui.workerVersion(r.version));
  };

  wb.addEventListener('waiting', () =>
    ui.updateReady(() => {
      accepted = true;
      wb.messageSkipWaiting();
    }),
  );
  container.addEventListener('controllerchange', () => {
    // This tab accepted the update: the new worker controls it, load the new version.
    if (accepted) return location.reload();
    if (!controlled) {
      // First install: the worker claimed this page.
      controlled = true;
      ui.offlineReady();
      reportVersion();
      if (plan === 'reload-for-isolation') reloadForIsolation();
      return;
    }
    // Another tab accepted a new version: this tab still runs the old one, in memory.
    ui.updateReady(() => location.reload());
  });

  return new Promise<void>((startApp) => {
    if (plan !== 'reload-for-isolation') startApp();
    wb.register({ immediate: plan === 'reload-for-isolation' }).then(
      (registration) => {
        if (!registration) return startApp();
        if (container.controller) {
          ui.offlineReady();
          reportVersion();
        }
        if (plan === 'reload-for-isolation') {
          // Already active (a hard reload bypasses it, or it controls the page without isolating it): one reload.
          if (container.controller || registration.active) return reloadForIsolation();
          // Installing: controllerchange reloads; if the install fails, the app starts without isolation.
          const installing = registration.installing ?? registration.waiting;
          if (!installing) return startApp();
          installing.addEventListener('statechange', () => {
            if (installing.state === 'redundant') startApp();
          });
        }
        watchForUpdates(wb);
      },
      () => startApp(),
    );
  });
}

/** Asks for a new deployment when the person comes back to the tab, on reconnecting, and hourly. */
function watchForUpdates(wb: Workbox): void {
  const check = () => {
    if (navigator.onLine) wb.update().catch(() => undefined);
  };
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') check();
  });
  window.addEventListener('online', check);
  setInterval(check, UPDATE_CHECK_MS);
}
