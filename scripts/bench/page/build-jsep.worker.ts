// One transformer graph timed on onnxruntime-web's default (JSEP) build.
import * as ort from 'onnxruntime-web';
import { startBuildBench } from './build-bench.js';

startBuildBench(ort, 'onnxruntime-web (JSEP)');
