/**
 * The engine as the worker exposes it: web runtime, models installed into and loaded from the
 * browser's weight store (IndexedDB), images turned into transferable ImageBitmaps, errors carried
 * across with their codes.
 */
import * as Comlink from 'comlink';
import { installErrorTransfer } from '../errors.js';
import { httpModelSource } from '../models/model-source.js';
import type {
  BackendPreference,
  ExportInstallRequest,
  FolderInstallRequest,
  GenerateRequest,
  GenerateResult,
  GeneratorApi,
  InstallRequest,
  LoadRequest,
  ProgressEvent,
} from '../protocol.js';
import { chooseBackend } from '../runtime/backend.js';
import { createWebRuntime, detectDeviceCaps } from '../runtime/ort-web.js';
import { SourceTokenStore } from '../storage/source-tokens.js';
import { WeightStore } from '../storage/weight-store.js';
import { GeneratorEngine } from './engine.js';
import { PackInstaller, type DeviceBackend } from './pack-installer.js';

/** The backend a load with this preference would use (decides which variants to install). */
async function deviceBackend(preference: BackendPreference = 'auto'): Promise<DeviceBackend> {
  const choice = chooseBackend(await detectDeviceCaps(), preference);
  return { kind: choice.kind, shaderF16: choice.shaderF16 };
}

export function createWorkerApi(): GeneratorApi {
  const store = new WeightStore();
  const tokens = new SourceTokenStore();
  const installer = new PackInstaller(store, { tokens });
  const engine = new GeneratorEngine({
    createRuntime: createWebRuntime,
    // Kept for EngineDeps; loads go through the store (prepareSource).
    sourceFor: (url) => httpModelSource(url),
    prepareSource: (request: LoadRequest, backend, onProgress) => installer.prepare(request, backend, onProgress),
  });
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
    install: async (request: InstallRequest, onProgress?: (e: ProgressEvent) => void) => installer.install(request, await deviceBackend(request.backend), onProgress),
    installFromExport: async (request: ExportInstallRequest, onProgress?: (e: ProgressEvent) => void) =>
      installer.installFromExport(request, await deviceBackend(request.backend), onProgress),
    installFromFolder: async (request: FolderInstallRequest, onProgress?: (e: ProgressEvent) => void) =>
      installer.installFromFolder(request, await deviceBackend(request.backend), onProgress),
    setSourceToken: (host: string, token: string) => tokens.set(host, token),
    forgetSourceToken: (host: string) => tokens.forget(host),
    sourceTokenHosts: () => tokens.hosts(),
    cancelInstall: (modelId: string) => installer.cancel(modelId),
    installed: () => store.listPacks(),
    deletePack: async (id: string) => {
      await installer.cancel(id);
      await store.deletePack(id);
    },
    verifyPack: (id: string) => store.verifyPack(id),
    storageInfo: () => store.storageInfo(),
  };
}

export function exposeWorkerApi(): void {
  installErrorTransfer(Comlink);
  Comlink.expose(createWorkerApi());
}
