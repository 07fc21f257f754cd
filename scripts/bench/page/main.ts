// The benchmark page: forwards steps to its workers (the app's worker code, and one worker per
// onnxruntime-web build), and with ?ready=store|memory measures page load → model ready.
type Reply = { id: number; ok: boolean; value?: unknown; error?: string };
const workers = new Map<string, Worker>();
const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
let next = 0;

function worker(name: string): Worker {
  let w = workers.get(name);
  if (w) return w;
  if (name === 'app') w = new Worker(new URL('./app.worker.ts', import.meta.url), { type: 'module' });
  else if (name === 'jsep') w = new Worker(new URL('./build-jsep.worker.ts', import.meta.url), { type: 'module' });
  else if (name === 'webgpu-build') w = new Worker(new URL('./build-webgpu.worker.ts', import.meta.url), { type: 'module' });
  else if (name === 'capture') w = new Worker(new URL('./capture.worker.ts', import.meta.url), { type: 'module' });
  else throw new Error(`no worker ${name}`);
  w.onmessage = (e: MessageEvent<Reply>) => {
    const p = pending.get(e.data.id);
    pending.delete(e.data.id);
    if (e.data.ok) p?.resolve(e.data.value);
    else p?.reject(new Error(e.data.error));
  };
  workers.set(name, w);
  return w;
}

function bench(name: string, step: string, args: unknown = {}): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const id = ++next;
    pending.set(id, { resolve, reject });
    worker(name).postMessage({ id, step, args });
  });
}

const w = window as unknown as { bench: typeof bench; ready?: { ms: number } | { error: string } };
w.bench = bench;

const params = new URLSearchParams(location.search);
const ready = params.get('ready');
const base = params.get('base');
if (ready && base) {
  const modelId = params.get('model') ?? 'medium-slice';
  const run = ready === 'store'
    ? bench('app', 'load', { modelId, baseUrl: base, backend: 'wasm' }).then(() => ({ ms: performance.now() }))
    : (bench('app', 'memoryLoad', { baseUrl: base, backend: 'wasm' }) as Promise<{ fetchMs: number }>).then((r) => ({ ms: performance.now() - r.fetchMs }));
  run.then((r) => (w.ready = r), (e: Error) => (w.ready = { error: e.message }));
}
