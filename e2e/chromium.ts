/**
 * Which Chromium the end-to-end tests drive: $CHROMIUM_PATH, else Debian's /usr/bin/chromium (or a
 * Chrome on the PATH), else a Playwright-managed browser if one is installed. Never downloads one.
 */
import { existsSync } from 'node:fs';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'];

export function chromiumPath(): string | undefined {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`CHROMIUM_PATH=${fromEnv} does not exist.`);
    return fromEnv;
  }
  return CANDIDATES.find((p) => existsSync(p));
}

export function requireChromium(): string | undefined {
  const path = chromiumPath();
  if (path) return path;
  if (process.env.PLAYWRIGHT_BROWSERS_PATH || process.env.PW_MANAGED_BROWSER) return undefined; // Playwright's own
  throw new Error(
    'No Chromium found for the end-to-end tests. Install one (Debian/Ubuntu: `sudo apt-get install chromium`), ' +
      'or set CHROMIUM_PATH to a Chromium/Chrome binary, or set PW_MANAGED_BROWSER=1 after `npx playwright install chromium`.',
  );
}

/** Flags that work headless as root on a machine without network or GPU (shared/CI_RECIPE.md). */
export const BASE_ARGS = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--disable-dev-shm-usage',
];
