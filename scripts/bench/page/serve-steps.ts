/** The worker side of the page's bench(name, step, args): runs the named step and posts its value or error. */
export type Steps = Record<string, (args: never) => Promise<unknown>>;

export function serveSteps(steps: Steps): void {
  // onnxruntime-web's WASM threads are workers started from this same script (named em-pthread…): they must not answer steps.
  if (self.name.startsWith('em-pthread')) return;
  self.addEventListener('message', async (e: MessageEvent<{ id: number; step: string; args: unknown }>) => {
    try {
      const step = steps[e.data.step];
      if (!step) throw new Error(`unknown step ${e.data.step}`);
      self.postMessage({ id: e.data.id, ok: true, value: await (step as (a: unknown) => Promise<unknown>)(e.data.args) });
    } catch (err) {
      const code = (err as { code?: string }).code;
      self.postMessage({ id: e.data.id, ok: false, error: `${code ? `${code}: ` : ''}${err instanceof Error ? err.message : String(err)}` });
    }
  });
}
