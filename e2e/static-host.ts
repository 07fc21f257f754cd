/**
 * The app on a host of the test's own (Node only): scripts/serve.mjs in a child process, on a free
 * port, with or without the COOP/COEP headers (--no-isolation: a static host like GitHub Pages).
 * `deploy(dir)` swaps the served build on the same origin, as a new deployment does.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

export interface StaticHost {
  /** Base URL, ending with "/". */
  url: string;
  /** Serves another build from the same origin (restarts the server on the same port). */
  deploy(dir: string): Promise<void>;
  close(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function startServe(dir: string, port: number, isolation: boolean): Promise<ChildProcess> {
  const args = ['scripts/serve.mjs', '--port', String(port), '--dir', dir, ...(isolation ? [] : ['--no-isolation'])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (b: Buffer) => {
      out += b.toString();
      if (out.includes('serving')) resolve(child);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`serve.mjs exited (${code}): ${out}`)));
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill();
  });
}

export async function startStaticHost(dir: string, options: { isolation: boolean }): Promise<StaticHost> {
  const port = await freePort();
  let child = await startServe(dir, port, options.isolation);
  return {
    url: `http://127.0.0.1:${port}/`,
    deploy: async (next) => {
      await stop(child);
      child = await startServe(next, port, options.isolation);
    },
    close: () => stop(child),
  };
}
