/**
 * The version of this build of the app, shared by the page and the service worker so that each can
 * tell which deployment it belongs to. Set at build time (vite.config.ts `define`): the package
 * version, or $WEBDIFFUSION_VERSION when set. Outside a Vite build (unit tests) it reads "development".
 */
declare const __APP_VERSION__: string | undefined;

export const APP_VERSION: string = typeof __APP_VERSION__ === 'string' ? __APP_VERSION__ : 'development';
