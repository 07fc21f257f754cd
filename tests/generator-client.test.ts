/**
 * The page's client never waits forever: when the worker fails, pending calls reject with
 * WORKER_FAILED and later calls fail at once. A MessagePort stands in for the worker.
 */
import * as Comlink from 'comlink';
import { describe, expect, it } from 'vitest';
import { GeneratorClient } from '../src/client/generator-client.js';

describe('GeneratorClient when the worker fails', () => {
  it('rejects pending and later calls with WORKER_FAILED', async () => {
    const { port1, port2 } = new MessageChannel();
    port1.start();
    const client = new GeneratorClient(port1 as unknown as Worker); // nobody answers on port2
    const pending = client.generate({ prompt: 'a cat', width: 256, height: 256, steps: 4, guidance: 4.5 });
    port1.dispatchEvent(Object.assign(new Event('error'), { message: 'out of memory' }));
    await expect(pending).rejects.toMatchObject({ code: 'WORKER_FAILED', message: expect.stringContaining('out of memory') });
    await expect(client.countTokens('x')).rejects.toMatchObject({ code: 'WORKER_FAILED' });
    port1.close();
    port2.close();
  });
});

describe('GeneratorClient progress', () => {
  it('forwards progress only while the call runs (a late event never follows the result)', async () => {
    const { port1, port2 } = new MessageChannel();
    const event = (bytesDone: number) => ({ phase: 'downloading', modelId: 'm', state: 'downloading', bytesDone, bytesTotal: 10 });
    // The worker reports 5/10, returns, and its last report (10/10) arrives after the result.
    Comlink.expose(
      {
        async install(_request: unknown, onProgress: (e: unknown) => Promise<void>) {
          await onProgress(event(5));
          setTimeout(() => void onProgress(event(10)), 20);
          return { id: 'm', state: 'installed' };
        },
      },
      port2,
    );
    const client = new GeneratorClient(port1 as unknown as Worker);
    const seen: number[] = [];
    const result = await client.install({ modelId: 'm', baseUrl: 'http://x/' }, { onProgress: (e) => seen.push((e as { bytesDone: number }).bytesDone) });
    expect(result).toMatchObject({ id: 'm' });
    await new Promise((r) => setTimeout(r, 100));
    expect(seen).toEqual([5]);
    port1.close();
    port2.close();
  });
});
