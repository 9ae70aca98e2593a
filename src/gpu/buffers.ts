/** Small buffer helpers shared by the kernel wrappers and tests. */
// GPUBufferUsage is read at call time: in Node the global exists only once Dawn is loaded.
export function storageBuffer(device: GPUDevice, data: ArrayBufferView | number, label?: string, extraUsage = 0): GPUBuffer {
  const size = typeof data === 'number' ? data : data.byteLength;
  const buffer = device.createBuffer({
    label,
    size: Math.max(16, Math.ceil(size / 4) * 4),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST | extraUsage,
    mappedAtCreation: typeof data !== 'number',
  });
  if (typeof data !== 'number') {
    new Uint8Array(buffer.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    buffer.unmap();
  }
  return buffer;
}

/** Copies `bytes` of `src` from `offset` to the CPU (tests, statistics and the sampled id only). */
export async function readBuffer(device: GPUDevice, src: GPUBuffer, bytes = src.size, offset = 0): Promise<ArrayBuffer> {
  const staging = device.createBuffer({ size: Math.ceil(bytes / 4) * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(src, offset, staging, 0, Math.ceil(bytes / 4) * 4);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const out = staging.getMappedRange().slice(0, bytes);
  staging.destroy();
  return out;
}

export async function readF32(device: GPUDevice, src: GPUBuffer, count?: number): Promise<Float32Array> {
  return new Float32Array(await readBuffer(device, src, (count ?? src.size / 4) * 4));
}

export async function readU32(device: GPUDevice, src: GPUBuffer, count?: number): Promise<Uint32Array> {
  return new Uint32Array(await readBuffer(device, src, (count ?? src.size / 4) * 4));
}
