/**
 * Live and peak bytes of the GPU buffers a worker holds, by wrapping GPUDevice.createBuffer and
 * GPUBuffer.destroy (installed before onnxruntime creates its device). A buffer counts from its
 * creation until destroy(); buffers dropped without destroy() (left to the garbage collector) stay
 * counted, which is what a browser's GPU process also sees until it collects them.
 */
export interface GpuMemory {
  liveBytes: number;
  peakBytes: number;
  createdBuffers: number;
  destroyedBuffers: number;
}

export const gpuMemory: GpuMemory = { liveBytes: 0, peakBytes: 0, createdBuffers: 0, destroyedBuffers: 0 };

/** Starts a new peak window at the current live bytes; returns the counters as they were. */
export function resetGpuPeak(): GpuMemory {
  const before = { ...gpuMemory };
  gpuMemory.peakBytes = gpuMemory.liveBytes;
  return before;
}

let installed = false;

export function installGpuMemoryCounters(): boolean {
  if (installed) return true;
  const g = globalThis as unknown as { GPUBuffer?: { prototype: GPUBuffer }; GPUDevice?: { prototype: GPUDevice } };
  if (!g.GPUBuffer || !g.GPUDevice) return false;
  installed = true;
  const sizes = new WeakMap<GPUBuffer, number>();

  const d = g.GPUDevice.prototype;
  const createBuffer = d.createBuffer;
  d.createBuffer = function (this: GPUDevice, descriptor: GPUBufferDescriptor) {
    const buffer = createBuffer.call(this, descriptor);
    sizes.set(buffer, buffer.size);
    gpuMemory.liveBytes += buffer.size;
    gpuMemory.createdBuffers++;
    gpuMemory.peakBytes = Math.max(gpuMemory.peakBytes, gpuMemory.liveBytes);
    return buffer;
  } as GPUDevice['createBuffer'];

  const b = g.GPUBuffer.prototype;
  const destroy = b.destroy;
  b.destroy = function (this: GPUBuffer) {
    const size = sizes.get(this);
    if (size !== undefined) {
      sizes.delete(this);
      gpuMemory.liveBytes -= size;
      gpuMemory.destroyedBuffers++;
    }
    return destroy.call(this);
  };
  return true;
}
