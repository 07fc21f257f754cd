/** Messages between the page and the service worker (shared by both sides). */

/** Page → worker: "activate now" (workbox-window's messageSkipWaiting() sends exactly this). */
export const SKIP_WAITING = 'SKIP_WAITING';
/** Page → worker, answered on the message port with `{ version }`: which build the worker serves. */
export const GET_VERSION = 'GET_VERSION';

export interface VersionReply {
  version: string;
}
