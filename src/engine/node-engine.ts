/**
 * The same engine on onnxruntime-node (CPU): the native reference the browser is compared with,
 * and the baseline of the benchmark. Node only.
 */
import * as ortNode from 'onnxruntime-node';
import { fsModelSource } from '../models/fs-model-source.js';
import type { BackendInfo } from '../protocol.js';
import { SessionRunner, type OrtModule } from '../runtime/session-runner.js';
import { GeneratorEngine, type EngineDeps } from './engine.js';

export function createNodeEngine(options: { threads?: number; loadOptions?: EngineDeps['loadOptions'] } = {}): GeneratorEngine {
  const threads = options.threads ?? 1;
  return new GeneratorEngine({
    sourceFor: (dir) => fsModelSource(dir),
    loadOptions: options.loadOptions,
    async createRuntime() {
      const runner = new SessionRunner(ortNode as unknown as OrtModule, {
        executionProviders: ['cpu'],
        graphOptimizationLevel: 'all',
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
      });
      const backend: BackendInfo = {
        kind: 'wasm',
        description: `onnxruntime-node CPU (${threads} thread${threads === 1 ? '' : 's'})`,
        shaderF16: false,
        threads,
        crossOriginIsolated: false,
        note: 'native reference',
      };
      return { runner, backend };
    },
  });
}
