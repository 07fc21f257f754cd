// The benchmark's app worker: the app's own worker code (engine, store, web runtime), with WebGPU traffic counters.
import { installGpuTrafficCounters } from './gpu-traffic.js';
import { startAppBench } from './app-bench.js';

installGpuTrafficCounters();
startAppBench();
