/**
 * Counts the bytes a worker really moves between CPU and GPU, by wrapping the WebGPU prototypes
 * (installed before onnxruntime creates its device): GPUQueue.writeBuffer / writeTexture (written),
 * and GPUBuffer.getMappedRange — written when the buffer was created mapped or mapped for WRITE,
 * read back when it was mapped with mapAsync(MAP_READ). Nothing here knows about onnxruntime.
 */
export interface GpuTraffic {
  writtenBytes: number;
  readBytes: number;
  writeCalls: number;
  readMaps: number;
}

const MAP_READ = 0x0001;
export const gpuTraffic: GpuTraffic = { writtenBytes: 0, readBytes: 0, writeCalls: 0, readMaps: 0 };

export function resetGpuTraffic(): GpuTraffic {
  const before = { ...gpuTraffic };
  gpuTraffic.writtenBytes = gpuTraffic.readBytes = gpuTraffic.writeCalls = gpuTraffic.readMaps = 0;
  return before;
}

/** Bytes of a BufferSource argument range (writeBuffer's dataOffset/size are in elements for typed arrays). */
function sourceBytes(data: BufferSource | SharedArrayBuffer, dataOffset = 0, size?: number): number {
  const elementSize = ArrayBuffer.isView(data) && 'BYTES_PER_ELEMENT' in data ? (data as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT : 1;
  const total = ArrayBuffer.isView(data) ? data.byteLength / elementSize : data.byteLength;
  return (size ?? total - dataOffset) * elementSize;
}

let installed = false;

export function installGpuTrafficCounters(): boolean {
  if (installed) return true;
  const g = globalThis as unknown as { GPUQueue?: { prototype: GPUQueue }; GPUBuffer?: { prototype: GPUBuffer }; GPUDevice?: { prototype: GPUDevice } };
  if (!g.GPUQueue || !g.GPUBuffer || !g.GPUDevice) return false;
  installed = true;
  const mode = new WeakMap<GPUBuffer, 'read' | 'write'>();

  const q = g.GPUQueue.prototype;
  const writeBuffer = q.writeBuffer;
  q.writeBuffer = function (this: GPUQueue, buffer: GPUBuffer, bufferOffset: number, data: BufferSource | SharedArrayBuffer, dataOffset?: number, size?: number) {
    gpuTraffic.writtenBytes += sourceBytes(data, dataOffset, size);
    gpuTraffic.writeCalls++;
    return (writeBuffer as (...a: unknown[]) => void).call(this, buffer, bufferOffset, data, dataOffset, size);
  } as GPUQueue['writeBuffer'];
  const writeTexture = q.writeTexture;
  q.writeTexture = function (this: GPUQueue, ...args: Parameters<GPUQueue['writeTexture']>) {
    const data = args[1];
    gpuTraffic.writtenBytes += data.byteLength;
    gpuTraffic.writeCalls++;
    return writeTexture.apply(this, args);
  } as GPUQueue['writeTexture'];

  const d = g.GPUDevice.prototype;
  const createBuffer = d.createBuffer;
  d.createBuffer = function (this: GPUDevice, descriptor: GPUBufferDescriptor) {
    const buffer = createBuffer.call(this, descriptor);
    if (descriptor.mappedAtCreation) mode.set(buffer, 'write');
    return buffer;
  } as GPUDevice['createBuffer'];

  const b = g.GPUBuffer.prototype;
  const mapAsync = b.mapAsync;
  b.mapAsync = function (this: GPUBuffer, m: number, ...rest: [number?, number?]) {
    mode.set(this, m & MAP_READ ? 'read' : 'write');
    if (m & MAP_READ) gpuTraffic.readMaps++;
    return mapAsync.call(this, m, ...rest);
  } as GPUBuffer['mapAsync'];
  const getMappedRange = b.getMappedRange;
  b.getMappedRange = function (this: GPUBuffer, offset?: number, size?: number) {
    const range = getMappedRange.call(this, offset, size);
    if (mode.get(this) === 'read') gpuTraffic.readBytes += range.byteLength;
    else gpuTraffic.writtenBytes += range.byteLength;
    return range;
  } as GPUBuffer['getMappedRange'];
  const unmap = b.unmap;
  b.unmap = function (this: GPUBuffer) {
    mode.delete(this);
    return unmap.call(this);
  };
  return true;
}
