/**
 * The page's client never waits forever: when the worker fails, pending calls reject with
 * WORKER_FAILED and later calls fail at once. A MessagePort stands in for the worker.
 */
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
