/**
 * The library's pure parts (parameter defaults, pack URLs, progress text) and the shared worker host
 * (one task at a time, install only what is not stored, the licence asked only before a download),
 * with a fake client standing in for the worker.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { GeneratorClient } from '../src/client/generator-client.js';
import { WebDiffusionError } from '../src/errors.js';
import { createGenerator } from '../src/lib/generator.js';
import { packFolderUrl } from '../src/lib/pack-url.js';
import { modelDefaults, resolveParams } from '../src/lib/params.js';
import { describeProgress, progressFraction } from '../src/lib/progress.js';
import { setClientFactory, WorkerHost } from '../src/lib/worker-host.js';
import { findModel } from '../src/models/registry.js';
import type { InstalledPack, LoadedModel, ProgressEvent } from '../src/protocol.js';

const tiny = findModel('tiny-sd3')!;

const codeOf = async (p: Promise<unknown>) => p.then(() => 'resolved', (e: WebDiffusionError) => e.code);
const codeOfSync = (f: () => unknown) => {
  try {
    f();
    return 'returned';
  } catch (e) {
    return (e as WebDiffusionError).code;
  }
};

describe('resolveParams', () => {
  it("completes a request with the model's recommended settings", () => {
    expect(modelDefaults(tiny)).toEqual({ width: 256, height: 256, steps: 8, guidance: 4.5 });
    expect(resolveParams(tiny, { prompt: 'a fox' })).toEqual({ prompt: 'a fox', negativePrompt: '', width: 256, height: 256, steps: 8, guidance: 4.5, seed: undefined });
  });
  it('keeps what the caller gave, seed 0 and guidance 0 included; null seed is random', () => {
    expect(resolveParams(tiny, { prompt: '', negativePrompt: 'blur', width: 512, height: 320, steps: 2, guidance: 0, seed: 0 })).toEqual({
      prompt: '',
      negativePrompt: 'blur',
      width: 512,
      height: 320,
      steps: 2,
      guidance: 0,
      seed: 0,
    });
    expect(resolveParams(tiny, { prompt: 'x', seed: null }).seed).toBeUndefined();
  });
  it('refuses values of the wrong kind with their codes', () => {
    expect(codeOfSync(() => resolveParams(tiny, {} as never))).toBe('INVALID_PROMPT');
    expect(codeOfSync(() => resolveParams(tiny, { prompt: 'x', negativePrompt: 3 as never }))).toBe('INVALID_PROMPT');
    expect(codeOfSync(() => resolveParams(tiny, { prompt: 'x', seed: 1.5 }))).toBe('INVALID_SEED');
    expect(codeOfSync(() => resolveParams(tiny, { prompt: 'x', seed: 2 ** 32 }))).toBe('INVALID_SEED');
    expect(codeOfSync(() => resolveParams(tiny, { prompt: 'x', seed: -1 }))).toBe('INVALID_SEED');
    expect(codeOfSync(() => resolveParams(tiny, { prompt: 'x', width: '512' as never }))).toBe('INVALID_REQUEST');
    expect(codeOfSync(() => resolveParams(tiny, { prompt: 'x', steps: Number.NaN }))).toBe('INVALID_REQUEST');
  });
});

describe('packFolderUrl', () => {
  const page = 'https://site.example/blog/post.html';
  it("uses the registry's path relative to the page without a base", () => {
    expect(packFolderUrl(tiny, undefined, page)).toBe('https://site.example/blog/models/tiny-sd3/');
    expect(packFolderUrl(findModel('sd35-medium')!, '', page)).toBeNull();
  });
  it('puts the model id under a base, relative or absolute', () => {
    expect(packFolderUrl(tiny, 'packs', page)).toBe('https://site.example/blog/packs/tiny-sd3/');
    expect(packFolderUrl(tiny, '/assets/packs/', page)).toBe('https://site.example/assets/packs/tiny-sd3/');
    expect(packFolderUrl(findModel('sd35-medium')!, 'https://cdn.example/p/?x=1#y', page)).toBe('https://cdn.example/p/sd35-medium/');
  });
  it('refuses a base that is not http(s)', () => {
    expect(codeOfSync(() => packFolderUrl(tiny, 'ftp://host/packs/', page))).toBe('INVALID_REQUEST');
  });
});

describe('progress', () => {
  const download: ProgressEvent = {
    phase: 'downloading',
    modelId: 'tiny-sd3',
    state: 'downloading',
    file: 'transformer/model.onnx_data',
    fileBytesDone: 0,
    fileBytesTotal: 1,
    bytesDone: 1_300_000,
    bytesTotal: 2_600_000,
    filesDone: 3,
    filesTotal: 9,
    bytesPerSecond: 1e6,
    etaMs: 1300,
  };
  it('gives each phase a fraction and a line', () => {
    expect(progressFraction(download)).toBe(0.5);
    expect(describeProgress(download)).toBe('Downloading model · 1.2 MiB of 2.5 MiB · 977 KiB/s · 1 s left · file 4 of 9');
    expect(progressFraction({ ...download, bytesTotal: 0 })).toBeNull();
    const step: ProgressEvent = { phase: 'denoising', jobId: 'j', step: 4, totalSteps: 8, elapsedMs: 400, etaMs: 400 };
    expect(progressFraction(step)).toBeCloseTo(0.485);
    expect(describeProgress(step)).toBe('Step 4/8 · 0.1 s/step · 0.4 s left');
    expect(progressFraction({ phase: 'loading', component: 'transformer', done: 2, total: 4 })).toBe(0.5);
    expect(progressFraction({ phase: 'loading', component: 'transformer', done: 2, total: 4, bytesDone: 1, bytesTotal: 4 })).toBe(0.25);
    expect(describeProgress({ phase: 'loading', component: 'done', done: 4, total: 4 })).toBe('Model ready');
  });
});

/** A stand-in for the worker's client that records what it is asked. */
function fakeClient(stored: string[] = []) {
  const calls: string[] = [];
  const model = (modelId: string): LoadedModel => ({
    modelId,
    backend: { kind: 'wasm', description: 'WebAssembly (1 thread)', shaderF16: false, threads: 1, crossOriginIsolated: false },
    variant: 'fp32',
    variants: {},
    hasT5: true,
    limits: { minSide: 64, maxSide: 768, multipleOf: 16 },
    loadMs: 1,
  });
  const client = {
    calls,
    installed: async () => stored.map((id) => ({ id, state: 'installed' }) as InstalledPack),
    install: async (r: { modelId: string; baseUrl: string }) => {
      calls.push(`install ${r.modelId} from ${r.baseUrl}`);
      stored.push(r.modelId);
      return {} as InstalledPack;
    },
    load: async (r: { modelId: string; backend?: string }) => {
      calls.push(`load ${r.modelId} ${r.backend}`);
      return model(r.modelId);
    },
    terminate: () => calls.push('terminate'),
  };
  return client;
}
const asClient = (c: ReturnType<typeof fakeClient>) => c as unknown as GeneratorClient;

describe('WorkerHost', () => {
  it('installs only what is not stored, asks before a download only, and loads once per model and backend', async () => {
    const client = fakeClient(['tiny-sd3']);
    const host = new WorkerHost(asClient(client));
    const beforeInstall = vi.fn(async () => undefined);
    const tinyTarget = { modelId: 'tiny-sd3', packUrl: 'https://s/models/tiny-sd3/', backend: 'auto' as const };
    await host.ensureLoaded(tinyTarget, { beforeInstall });
    await host.ensureLoaded(tinyTarget, { beforeInstall });
    expect(beforeInstall).not.toHaveBeenCalled();
    await host.ensureLoaded({ modelId: 'tiny-sd3-q4', packUrl: 'https://s/models/tiny-sd3-q4/', backend: 'auto' }, { beforeInstall });
    expect(beforeInstall).toHaveBeenCalledTimes(1);
    await host.ensureLoaded({ ...tinyTarget, backend: 'wasm' }, { beforeInstall });
    expect(client.calls).toEqual(['load tiny-sd3 auto', 'install tiny-sd3-q4 from https://s/models/tiny-sd3-q4/', 'load tiny-sd3-q4 auto', 'load tiny-sd3 wasm']);
  });

  it('refuses a model with nowhere to download it from', async () => {
    const host = new WorkerHost(asClient(fakeClient()));
    expect(await codeOf(host.ensureLoaded({ modelId: 'sd35-medium', packUrl: null, backend: 'auto' }))).toBe('MODEL_NOT_AVAILABLE');
  });

  it('runs one task at a time, in order; a task aborted while it waits never runs', async () => {
    const host = new WorkerHost(asClient(fakeClient()));
    const log: string[] = [];
    let finishFirst!: () => void;
    const first = host.exclusive(undefined, 'a', async () => {
      log.push('first starts');
      await new Promise<void>((r) => (finishFirst = r));
      log.push('first ends');
    });
    const abort = new AbortController();
    const second = host.exclusive(abort.signal, 'generation', async () => void log.push('second runs'));
    const third = host.exclusive(undefined, 'c', async () => void log.push('third runs'));
    await Promise.resolve();
    abort.abort();
    expect(await codeOf(second)).toBe('CANCELLED');
    expect(log).toEqual(['first starts']);
    finishFirst();
    await first;
    await third;
    expect(log).toEqual(['first starts', 'first ends', 'third runs']);
  });
});

describe('createGenerator', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('refuses an unknown model and an unusable pack base at once', () => {
    vi.stubGlobal('location', { href: 'https://site.example/' });
    expect(codeOfSync(() => createGenerator({ model: 'sd4' }))).toBe('MODEL_UNKNOWN');
    expect(codeOfSync(() => createGenerator({ model: 'tiny-sd3', baseUrl: 'javascript:alert(1)' }))).toBe('INVALID_REQUEST');
  });

  it('asks for the licence before the first download and downloads nothing when it is refused', async () => {
    vi.stubGlobal('location', { href: 'https://site.example/app/' });
    const client = fakeClient();
    setClientFactory(() => asClient(client));
    const refuse = vi.fn(() => false);
    const generator = createGenerator({ model: 'sd35-medium', baseUrl: 'packs/', acceptLicense: refuse });
    expect(generator.packUrl).toBe('https://site.example/app/packs/sd35-medium/');
    expect(generator.model.license).toEqual({ name: 'Stability AI Community License', url: 'https://stability.ai/community-license-agreement', mustAccept: true });
    expect(await codeOf(generator.load())).toBe('LICENSE_NOT_ACCEPTED');
    expect(refuse).toHaveBeenCalledWith({ modelId: 'sd35-medium', modelName: 'SD 3.5 Medium', name: 'Stability AI Community License', url: 'https://stability.ai/community-license-agreement' });
    expect(client.calls).toEqual([]);
    // Without a way to ask, the model is refused too.
    const silent = createGenerator({ model: 'sd35-medium', baseUrl: 'packs/' });
    expect(await codeOf(silent.load())).toBe('LICENSE_NOT_ACCEPTED');
    const accepting = createGenerator({ model: 'sd35-medium', baseUrl: 'packs/', acceptLicense: async () => true });
    await accepting.load();
    expect(client.calls).toEqual(['install sd35-medium from https://site.example/app/packs/sd35-medium/', 'load sd35-medium auto']);
    // The worker is shared and stops with its last user; a disposed generator refuses work.
    generator.dispose();
    silent.dispose();
    expect(client.calls).not.toContain('terminate');
    accepting.dispose();
    expect(client.calls.at(-1)).toBe('terminate');
    expect(await codeOf(accepting.load())).toBe('INVALID_REQUEST');
  });
});
