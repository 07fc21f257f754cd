// One transformer graph timed on the onnxruntime-web/webgpu build.
import * as ort from 'onnxruntime-web/webgpu';
import { startBuildBench } from './build-bench.js';

startBuildBench(ort, 'onnxruntime-web/webgpu');
