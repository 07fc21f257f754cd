/**
 * The engine as the worker exposes it: web runtime and HTTP model source, images turned into
 * transferable ImageBitmaps, errors carried across with their codes.
 */
import * as Comlink from 'comlink';
import { installErrorTransfer } from '../errors.js';
import { httpModelSource } from '../models/model-source.js';
import type { GenerateRequest, GenerateResult, GeneratorApi, LoadRequest, ProgressEvent } from '../protocol.js';
import { createWebRuntime } from '../runtime/ort-web.js';
import { GeneratorEngine } from './engine.js';

export function createWorkerApi(): GeneratorApi {
  const engine = new GeneratorEngine({ createRuntime: createWebRuntime, sourceFor: (url) => httpModelSource(url) });
  return {
    load: (request: LoadRequest, onProgress?: (e: ProgressEvent) => void) => engine.load(request, onProgress),
    async generate(request: GenerateRequest, onProgress?: (e: ProgressEvent) => void): Promise<GenerateResult> {
      const result = await engine.generate(request, onProgress);
      const { rgba, width, height } = result.image;
      const bitmap = await createImageBitmap(new ImageData(new Uint8ClampedArray(rgba.buffer as ArrayBuffer), width, height));
      return Comlink.transfer({ ...result, image: bitmap }, [bitmap]);
    },
    cancel: (jobId: string) => engine.cancel(jobId),
    countTokens: (text: string) => engine.countTokens(text),
    unload: () => engine.unload(),
  };
}

export function exposeWorkerApi(): void {
  installErrorTransfer(Comlink);
  Comlink.expose(createWorkerApi());
}
