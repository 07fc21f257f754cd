// The generator worker: everything that touches onnxruntime runs here, off the page's thread.
import { exposeWorkerApi } from '../src/engine/worker-api.js';

exposeWorkerApi();
