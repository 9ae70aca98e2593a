/**
 * Weights on the GPU: a matrix in its storage format (see shaders/weights_<format>.wgsl), split by
 * whole rows into slices when it exceeds the largest storage binding. GGUF blocks (34 or 18 bytes,
 * not word-aligned) are split into quants and scales once, here.
 */
import { dequantize } from '../model/dtypes';
import type { DType, Tensor } from '../model/types';

export interface GpuTensorSlice {
  rowStart: number;
  rows: number;
  data: GPUBuffer;
  /** Block scales for q8_0 / q4_0. */
  scales: GPUBuffer | null;
}

export interface GpuTensor {
  dtype: DType;
  rows: number;
  cols: number;
  slices: GpuTensorSlice[];
  /** GPU bytes held. */
  bytes: number;
  destroy(): void;
}

const BLOCK = { q8_0: { bytes: 34, quants: 32 }, q4_0: { bytes: 18, quants: 16 } } as const;

/** Bytes of one row in the GPU layout (data buffer only). */
function rowBytes(dtype: DType, cols: number): number {
  switch (dtype) {
    case 'f32':
      return cols * 4;
    case 'f16':
    case 'bf16':
      return cols * 2;
    case 'q8_0':
    case 'q4_0':
      return (cols / 32) * BLOCK[dtype].quants;
  }
}

function createFilled(device: GPUDevice, bytes: Uint8Array, label: string): GPUBuffer {
  const size = Math.max(16, Math.ceil(bytes.byteLength / 4) * 4);
  const buf = device.createBuffer({ label, size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
  // writeBuffer needs a multiple of 4 bytes; only an odd-length f16 tail needs padding.
  const whole = bytes.byteLength & ~3;
  if (whole) device.queue.writeBuffer(buf, 0, bytes.buffer, bytes.byteOffset, whole);
  if (whole < bytes.byteLength) {
    const tail = new Uint8Array(4);
    tail.set(bytes.subarray(whole));
    device.queue.writeBuffer(buf, whole, tail);
  }
  return buf;
}

/** Splits GGUF blocks of rows [r0, r1) into contiguous quants and f16 scales. */
function splitBlocks(t: Tensor, dtype: 'q8_0' | 'q4_0', r0: number, r1: number): { quants: Uint8Array; scales: Uint8Array } {
  const cols = t.shape[1];
  const { bytes, quants: qn } = BLOCK[dtype];
  const perRow = cols / 32;
  const nBlocks = (r1 - r0) * perRow;
  const quants = new Uint8Array(nBlocks * qn);
  const scales = new Uint8Array(nBlocks * 2);
  const base = r0 * perRow * bytes;
  for (let b = 0; b < nBlocks; b++) {
    const src = base + b * bytes;
    scales[2 * b] = t.data[src];
    scales[2 * b + 1] = t.data[src + 1];
    quants.set(t.data.subarray(src + 2, src + bytes), b * qn);
  }
  return { quants, scales };
}

export function uploadMatrix(device: GPUDevice, t: Tensor, maxBinding = device.limits.maxStorageBufferBindingSize): GpuTensor {
  const [rows, cols] = t.shape.length === 2 ? t.shape : [1, t.shape[0]];
  const { dtype } = t;
  if ((dtype === 'q8_0' || dtype === 'q4_0') && cols % 32) throw new RangeError(`${t.name}: ${dtype} needs a multiple of 32 columns, got ${cols}`);
  // Slices hold whole rows (and so whole blocks); an even row count keeps f16 pairs in one word.
  let rowsPerSlice = Math.max(1, Math.floor(maxBinding / rowBytes(dtype, cols)));
  if (rowsPerSlice < rows && rowsPerSlice > 1) rowsPerSlice -= rowsPerSlice % 2;
  const slices: GpuTensorSlice[] = [];
  let bytes = 0;
  for (let r0 = 0; r0 < rows; r0 += rowsPerSlice) {
    const r1 = Math.min(rows, r0 + rowsPerSlice);
    if (dtype === 'q8_0' || dtype === 'q4_0') {
      const { quants, scales } = splitBlocks(t, dtype, r0, r1);
      slices.push({ rowStart: r0, rows: r1 - r0, data: createFilled(device, quants, t.name), scales: createFilled(device, scales, t.name + ' scales') });
      bytes += quants.byteLength + scales.byteLength;
    } else {
      const rb = rowBytes(dtype, cols);
      const part = t.data.subarray(r0 * rb, r1 * rb);
      slices.push({ rowStart: r0, rows: r1 - r0, data: createFilled(device, part, t.name), scales: null });
      bytes += part.byteLength;
    }
  }
  return {
    dtype,
    rows,
    cols,
    slices,
    bytes,
    destroy() {
      for (const s of slices) {
        s.data.destroy();
        s.scales?.destroy();
      }
    },
  };
}

/** Norm weights and other vectors are tiny: always f32. */
export function uploadVector(device: GPUDevice, t: Tensor): GPUBuffer {
  const f = dequantize(t);
  return createFilled(device, new Uint8Array(f.buffer), t.name);
}
