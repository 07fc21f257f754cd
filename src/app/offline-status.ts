/**
 * A small status in the corner of the page about the network: "Offline" while the browser has no
 * connection (installed models keep working), "Available offline" once the service worker has
 * stored the app. Follows the browser's online/offline events.
 */
export type NetworkStatus = 'online' | 'offline' | 'offline-ready';

/** The badge's words: the status, then a detail that narrow screens leave out. */
export const STATUS_TEXT: Record<NetworkStatus, [string, string]> = {
  online: ['', ''],
  offline: ['Offline', ' · installed models still work'],
  'offline-ready': ['Available offline', ''],
};

export const STATUS_TITLE: Record<NetworkStatus, string> = {
  online: '',
  offline: 'No network connection. The app and the models installed in this browser work; downloading a model needs a connection.',
  'offline-ready': 'The app is stored in this browser: it opens and generates with installed models even without a network.',
};

/** What to show: being offline matters more than being ready for it. */
export const networkStatus = (online: boolean, offlineReady: boolean): NetworkStatus =>
  !online ? 'offline' : offlineReady ? 'offline-ready' : 'online';

export interface OfflineStatus {
  /** The service worker controls the page: the app itself is available offline. */
  setOfflineReady(): void;
}

export function mountOfflineStatus(box: HTMLElement): OfflineStatus {
  let ready = false;
  const render = () => {
    const status = networkStatus(navigator.onLine, ready);
    box.dataset.network = status;
    const [text, detail] = STATUS_TEXT[status];
    const more = document.createElement('span');
    more.className = 'detail';
    more.textContent = detail;
    box.replaceChildren(text, more);
    box.title = STATUS_TITLE[status];
    box.hidden = status === 'online';
  };
  window.addEventListener('online', render);
  window.addEventListener('offline', render);
  render();
  return {
    setOfflineReady: () => {
      ready = true;
      render();
    },
  };
}
