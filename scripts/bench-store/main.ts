// The benchmark page: forwards each step to the worker (where the store and onnxruntime run, as in the app).
const worker = new Worker(new URL('./bench.worker.ts', import.meta.url), { type: 'module' });
let next = 0;
const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
worker.onmessage = (e: MessageEvent<{ id: number; ok: boolean; value?: unknown; error?: string }>) => {
  const p = pending.get(e.data.id);
  pending.delete(e.data.id);
  if (e.data.ok) p?.resolve(e.data.value);
  else p?.reject(new Error(e.data.error));
};
(window as unknown as { bench: (step: string, args: unknown) => Promise<unknown> }).bench = (step, args) =>
  new Promise((resolve, reject) => {
    const id = ++next;
    pending.set(id, { resolve, reject });
    worker.postMessage({ id, step, args });
  });
