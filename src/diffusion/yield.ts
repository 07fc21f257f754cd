/**
 * Lets queued messages (a Comlink `cancel`, say) run between denoising steps. Awaiting a session
 * run alone may resolve through microtasks only, which never lets the worker see a new message.
 * A MessageChannel round trip is a real macrotask without setTimeout's 4 ms clamp.
 */
export function yieldToEventLoop(): Promise<void> {
  if (typeof MessageChannel === 'undefined') return new Promise((r) => setTimeout(r, 0));
  return new Promise((resolve) => {
    const { port1, port2 } = new MessageChannel();
    port1.onmessage = () => {
      port1.close();
      resolve();
    };
    port2.postMessage(null);
  });
}
