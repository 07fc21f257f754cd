// The generator worker: everything that touches onnxruntime runs here, off the page's thread.
import { exposeWorkerApi } from '../src/engine/worker-api.js';

// onnxruntime-web starts its WASM threads as workers of this same bundled script, named
// "em-pthread…"; they run its thread code and must not answer as a second generator API.
if (!self.name.startsWith('em-pthread')) exposeWorkerApi();
