// The graph-capture benchmark's worker: WebGPU traffic and GPU memory counters, then the steps.
import { startCaptureBench } from './capture-bench.js';
import { installGpuMemoryCounters } from './gpu-memory.js';
import { installGpuTrafficCounters } from './gpu-traffic.js';

installGpuTrafficCounters();
installGpuMemoryCounters();
startCaptureBench();
