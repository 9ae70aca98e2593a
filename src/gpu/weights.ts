/**
 * Weights on the GPU: a matrix in its storage format (see shaders/weights_<format>.wgsl), split by
 * whole rows into slices when it exceeds the largest storage binding. GGUF blocks (34 or 18 bytes,
 * not word-aligned) are split into quants and scales once, here, a bounded chunk at a time; f32,
 * f16 and bf16 bytes go to the GPU as they are (no copy on the CPU).
 *
 * GPU layouts (every buffer is padded to a multiple of 16 bytes, so vec4 views see every element):
 * - f32:  the row-major floats.
 * - bf16: the row-major halves, two per u32 word (element 2k in the low half).
 * - f16:  rows in groups of ROW_GROUP (8; the last group zero-padded), each group stored by column
 *         chunks: for chunk k (columns 4k..4k+3, the row's last chunk zero-padded) the group's rows'
 *         4 halves (8 bytes each) one after the other; element (r, c) is half
 *         ((r / 8 * ceil(cols / 4) + c / 4) * 8 + r % 8) * 4 + c % 4. One invocation of the simple
 *         matvec reads its 8 rows as one contiguous stream (lavapipe loads each lane's word
 *         separately, and 8 rows x 8 lanes of row-major streams ran 1.3-1.5x slower).
 * - q8_0: quants = the int8 of each row (4 per u32 word), grouped like f16 by 4-column words: byte
 *         ((r / 8 * cols / 4 + c / 4) * 8 + r % 8) * 4 + c % 4; scales = the f16 block scales,
 *         grouped by blocks: half (r / 8 * cols / 32 + c / 32) * 8 + r % 8, two per u32 word.
 * - q4_0: quants = the 16 nibble bytes of each block as they are in GGUF (4 u32 words per block:
 *         element e < 16 is the low nibble of byte e, element e >= 16 the high nibble of byte e - 16);
 *         scales as q8_0.
 * - q4_1, q5_0, q5_1, q4_k, q5_k, q6_k: whole blocks in one buffer, each at a word-aligned stride
 *         (`WHOLE_BLOCKS`): as stored where the block is whole words, q5_0 moved 2 bytes in (24-byte
 *         slots) and q6_k padded to 212 bytes, so every field is read as aligned words.
 * A slice's element (r, c) is at flat index (r - rowStart) * cols + c of its own buffers (for the
 * grouped formats, r - rowStart in the formula above; slices start at multiples of ROW_GROUP rows).
 */
import { dequantize } from '../model/dtypes';
import { BLOCKS } from '../model/block-formats';
import type { DType, Tensor } from '../model/types';
import { deviceOf, type GpuTarget } from './device';

export interface GpuTensorSlice {
  /** First row of the matrix held by this slice. */
  rowStart: number;
  rows: number;
  /** The weights (f32/f16/bf16) or the quants (q8_0/q4_0). */
  data: GPUBuffer;
  /** Block scales for q8_0 / q4_0. */
  scales: GPUBuffer | null;
}

export interface GpuTensor {
  name: string;
  dtype: DType;
  rows: number;
  cols: number;
  slices: GpuTensorSlice[];
  /** Rows per slice (the last one may hold fewer). */
  rowsPerSlice: number;
  /** GPU bytes held (the allocated buffer sizes, padding included). */
  bytes: number;
  destroy(): void;
}

export interface UploadOptions {
  /** Largest binding in bytes; defaults to the device's maxStorageBufferBindingSize (tests force small ones). */
  maxBinding?: number;
  /** Slices start at multiples of this many rows (gate/up interleaved in fours: 4). Default 1. */
  rowAlign?: number;
  label?: string;
}

const QK = 32;
/** Rows per group of the grouped layouts (f16, q8_0: see above). */
export const ROW_GROUP = 8;
/** Rows per group of a format's GPU layout (1: row-major). */
export function rowGroup(dtype: DType): number {
  return dtype === 'f16' || dtype === 'q8_0' ? ROW_GROUP : 1;
}
/** Quant bytes of a q8_0 / q4_0 block: what follows its f16 scale (uploaded apart from the scales). */
const quantBytes = (dtype: 'q8_0' | 'q4_0') => BLOCKS[dtype].bytes - 2;
/** Block formats uploaded whole: `pad` zero bytes before each block, in slots of whole words. */
const WHOLE_BLOCKS = { q4_1: { pad: 0 }, q5_0: { pad: 2 }, q5_1: { pad: 0 }, q4_k: { pad: 0 }, q5_k: { pad: 0 }, q6_k: { pad: 0 } } as const;
const slotBytes = (dtype: WholeBlockDType) => Math.ceil((WHOLE_BLOCKS[dtype].pad + BLOCKS[dtype].bytes) / 4) * 4;
type WholeBlockDType = keyof typeof WHOLE_BLOCKS;
const isWhole = (d: DType): d is WholeBlockDType => d in WHOLE_BLOCKS;
/** Blocks repacked per writeBuffer call: bounds the CPU copy at 1 MiB of quants. */
const CHUNK_BLOCKS = 32768;
/** f32/f16/bf16 bytes per writeBuffer call (bounds the implementation's staging copy). */
const CHUNK_BYTES = 16 << 20;

/** Bytes of one row in the GPU layout (data buffer only). */
export function gpuRowBytes(dtype: DType, cols: number): number {
  switch (dtype) {
    case 'f32':
      return cols * 4;
    case 'f16':
      return Math.ceil(cols / 4) * 8;
    case 'bf16':
      return cols * 2;
    case 'q8_0':
    case 'q4_0':
      return (cols / QK) * quantBytes(dtype);
    default:
      return (cols / BLOCKS[dtype].elements) * slotBytes(dtype);
  }
}

/** Bytes of one row as the loader holds it. */
function sourceRowBytes(dtype: DType, cols: number): number {
  if (dtype === 'f32' || dtype === 'f16' || dtype === 'bf16') return cols * (dtype === 'f32' ? 4 : 2);
  return (cols / BLOCKS[dtype].elements) * BLOCKS[dtype].bytes;
}

const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);
const lcm = (a: number, b: number) => (a / gcd(a, b)) * b;

const pad16 = (n: number) => Math.max(16, Math.ceil(n / 16) * 16);

/** Writes `bytes` at `offset` of `buf`; a length that is not a whole word is zero-padded. */
function write(device: GPUDevice, buf: GPUBuffer, offset: number, bytes: Uint8Array): void {
  for (let start = 0; start < bytes.byteLength; start += CHUNK_BYTES) {
    const part = bytes.subarray(start, Math.min(bytes.byteLength, start + CHUNK_BYTES));
    const whole = part.byteLength & ~3;
    if (whole) device.queue.writeBuffer(buf, offset + start, part.buffer, part.byteOffset, whole);
    if (whole < part.byteLength) {
      const tail = new Uint8Array(4);
      tail.set(part.subarray(whole));
      device.queue.writeBuffer(buf, offset + start + whole, tail);
    }
  }
}

function createStorage(device: GPUDevice, bytes: number, label: string): GPUBuffer {
  return device.createBuffer({ label, size: pad16(bytes), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC });
}

/**
 * Rows [0, n) of a matrix with `srcRowBytes` per row, in the grouped layout: rows padded to
 * `rowBytes` and to whole groups, each group stored by `unit`-byte column chunks (the chunk of every
 * row of the group, then the next chunk).
 */
function groupRows(src: Uint8Array, n: number, srcRowBytes: number, rowBytes: number, unit: 2 | 4 | 8): Uint8Array {
  const rows = Math.ceil(n / ROW_GROUP) * ROW_GROUP;
  const padded = new Uint8Array(rows * rowBytes);
  if (srcRowBytes === rowBytes) padded.set(src.subarray(0, n * rowBytes));
  else for (let r = 0; r < n; r++) padded.set(src.subarray(r * srcRowBytes, (r + 1) * srcRowBytes), r * rowBytes);
  const out = new Uint8Array(padded.length);
  const [a, b] = unit === 2 ? [new Uint16Array(padded.buffer), new Uint16Array(out.buffer)] : [new Uint32Array(padded.buffer), new Uint32Array(out.buffer)];
  const w = unit === 8 ? 2 : 1;
  const rowEl = rowBytes / a.BYTES_PER_ELEMENT;
  const chunks = rowBytes / unit;
  for (let g = 0; g < rows; g += ROW_GROUP) {
    for (let j = 0; j < ROW_GROUP; j++) {
      const from = (g + j) * rowEl;
      for (let k = 0, o = g * rowEl + j * w; k < chunks; k++, o += ROW_GROUP * w) {
        b[o] = a[from + k * w];
        if (w === 2) b[o + 1] = a[from + k * w + 1];
      }
    }
  }
  return out;
}

/** Rows per upload chunk: whole groups of ROW_GROUP rows, about CHUNK_BYTES of `rowBytes` each. */
const chunkRows = (rowBytes: number) => Math.max(1, Math.floor(CHUNK_BYTES / (ROW_GROUP * rowBytes))) * ROW_GROUP;

/** f16 rows [r0, r1) in the grouped layout, a chunk of rows at a time. */
function uploadGrouped(device: GPUDevice, t: Tensor, cols: number, r0: number, r1: number, buf: GPUBuffer): void {
  const src = sourceRowBytes(t.dtype, cols);
  const rb = gpuRowBytes(t.dtype, cols);
  const step = chunkRows(rb);
  for (let c0 = r0; c0 < r1; c0 += step) {
    const c1 = Math.min(r1, c0 + step);
    write(device, buf, (c0 - r0) * rb, groupRows(t.data.subarray(c0 * src, c1 * src), c1 - c0, src, rb, 8));
  }
}

/**
 * Repacks the GGUF blocks of rows [r0, r1) into the slice's quants and scales buffers (q8_0 in the
 * grouped layout), a chunk of whole groups of rows at a time.
 */
function uploadBlocks(device: GPUDevice, t: Tensor, dtype: 'q8_0' | 'q4_0', cols: number, r0: number, r1: number, quantsBuf: GPUBuffer, scalesBuf: GPUBuffer): void {
  const { bytes } = BLOCKS[dtype];
  const qn = quantBytes(dtype);
  const perRow = cols / QK;
  const grouped = rowGroup(dtype) > 1;
  // Whole groups per chunk (ROW_GROUP is even, so every scales offset is a whole word).
  const step = Math.max(1, Math.floor(CHUNK_BLOCKS / (perRow * ROW_GROUP))) * ROW_GROUP;
  const chunkBlocks = Math.min(r1 - r0, step) * perRow;
  const quants = new Uint8Array(chunkBlocks * qn);
  const scales = new Uint8Array(chunkBlocks * 2);
  const src = t.data;
  for (let c0 = r0; c0 < r1; c0 += step) {
    const c1 = Math.min(r1, c0 + step);
    const n = (c1 - c0) * perRow;
    const base = c0 * perRow * bytes;
    for (let b = 0; b < n; b++) {
      const s = base + b * bytes;
      scales[2 * b] = src[s];
      scales[2 * b + 1] = src[s + 1];
      quants.set(src.subarray(s + 2, s + bytes), b * qn);
    }
    const q = quants.subarray(0, n * qn);
    const d = scales.subarray(0, n * 2);
    write(device, quantsBuf, (c0 - r0) * perRow * qn, grouped ? groupRows(q, c1 - c0, perRow * qn, perRow * qn, 4) : q);
    write(device, scalesBuf, (c0 - r0) * perRow * 2, grouped ? groupRows(d, c1 - c0, perRow * 2, perRow * 2, 2) : d);
  }
}

/** Copies the blocks of rows [r0, r1) into their word-aligned slots, a chunk at a time. */
function uploadWholeBlocks(device: GPUDevice, t: Tensor, dtype: WholeBlockDType, cols: number, r0: number, r1: number, buf: GPUBuffer): void {
  const { bytes } = BLOCKS[dtype];
  const { pad } = WHOLE_BLOCKS[dtype];
  const stride = slotBytes(dtype);
  const perRow = cols / BLOCKS[dtype].elements;
  const base = r0 * perRow * bytes;
  const nBlocks = (r1 - r0) * perRow;
  if (pad === 0 && stride === bytes) return write(device, buf, 0, t.data.subarray(base, base + nBlocks * bytes));
  const chunk = new Uint8Array(Math.min(nBlocks, CHUNK_BLOCKS) * stride);
  for (let b0 = 0; b0 < nBlocks; b0 += CHUNK_BLOCKS) {
    const n = Math.min(CHUNK_BLOCKS, nBlocks - b0);
    for (let b = 0; b < n; b++) chunk.set(t.data.subarray(base + (b0 + b) * bytes, base + (b0 + b + 1) * bytes), b * stride + pad);
    write(device, buf, b0 * stride, chunk.subarray(0, n * stride));
  }
}

/**
 * Uploads a weight matrix [rows, cols] (a 1-D tensor is one row) in its GPU format, in row slices
 * that each fit one storage binding. Block formats need whole blocks per row (llama.cpp's rule):
 * cols % 32 == 0, cols % 256 == 0 for the K-quants.
 */
export function uploadTensor(ctx: GpuTarget, t: Tensor, opts: UploadOptions = {}): GpuTensor {
  const device = deviceOf(ctx);
  const [rows, cols] = t.shape.length === 2 ? t.shape : t.shape.length === 1 ? [1, t.shape[0]] : [t.shape.slice(0, -1).reduce((a, b) => a * b, 1), t.shape[t.shape.length - 1]];
  const { dtype } = t;
  const name = opts.label ?? t.name;
  const q = dtype === 'q8_0' || dtype === 'q4_0';
  const blockElements = dtype in BLOCKS ? BLOCKS[dtype as keyof typeof BLOCKS].elements : 1;
  if (cols % blockElements) throw new RangeError(`${name}: ${dtype} weights need a multiple of ${blockElements} columns (llama.cpp blocks), got ${cols}`);
  const srcRowBytes = sourceRowBytes(dtype, cols);
  if (t.data.byteLength < rows * srcRowBytes) throw new RangeError(`${name}: ${t.data.byteLength} bytes for a ${dtype} [${rows}, ${cols}] tensor that needs ${rows * srcRowBytes}`);
  const limits = device.limits;
  const maxBinding = Math.min(opts.maxBinding ?? limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  const rb = gpuRowBytes(dtype, cols);
  // Whole rows per slice; the padding to 16 bytes must fit too.
  const fit = Math.floor((Math.floor(maxBinding / 16) * 16) / rb);
  const group = rowGroup(dtype);
  const align = lcm(opts.rowAlign ?? 1, group);
  const rowsPerSlice = Math.min(rows, fit - (fit % align));
  if (rowsPerSlice < 1) throw new RangeError(`${name}: ${align === 1 ? 'one row' : `${align} rows`} of ${rb} bytes exceeds the ${maxBinding}-byte storage binding limit`);

  const slices: GpuTensorSlice[] = [];
  let bytes = 0;
  try {
    for (let r0 = 0; r0 < rows; r0 += rowsPerSlice) {
      const r1 = Math.min(rows, r0 + rowsPerSlice);
      const label = slices.length || r1 < rows ? `${name} [${r0}, ${r1})` : name;
      // Grouped layouts hold whole groups (the last one zero-padded).
      const held = Math.ceil((r1 - r0) / group) * group;
      const data = createStorage(device, held * rb, label);
      let scales: GPUBuffer | null = null;
      if (q) {
        scales = createStorage(device, held * (cols / QK) * 2, label + ' scales');
        slices.push({ rowStart: r0, rows: r1 - r0, data, scales });
        uploadBlocks(device, t, dtype, cols, r0, r1, data, scales);
      } else {
        slices.push({ rowStart: r0, rows: r1 - r0, data, scales });
        if (isWhole(dtype)) uploadWholeBlocks(device, t, dtype, cols, r0, r1, data);
        else if (group > 1) uploadGrouped(device, t, cols, r0, r1, data);
        else write(device, data, 0, t.data.subarray(r0 * rb, r1 * rb));
      }
      bytes += data.size + (scales?.size ?? 0);
    }
  } catch (e) {
    for (const s of slices) {
      s.data.destroy();
      s.scales?.destroy();
    }
    throw e;
  }
  return {
    name,
    dtype,
    rows,
    cols,
    slices,
    rowsPerSlice,
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
  const buf = createStorage(device, f.byteLength, t.name);
  write(device, buf, 0, new Uint8Array(f.buffer, f.byteOffset, f.byteLength));
  return buf;
}

const QUAD_FORMATS = new Set<DType>(['q4_1', 'q5_1', 'q4_k', 'q5_k', 'q6_k']);

/** How f16 weights are read: packed in u32 words (core WGSL), or as native `f16` (needs shader-f16). */
export type F16Mode = 'packed' | 'native';

/**
 * The WGSL that reads a weight format: the shader names to prepend to a kernel, and the `enable`
 * directives it needs (they must open the module). `native` f16 falls back to packed without shader-f16.
 */
export function weightShader(device: GPUDevice, dtype: DType, f16: F16Mode = 'packed'): { shaders: string[]; enables: string[] } {
  if (dtype === 'f16' && f16 === 'native' && device.features.has('shader-f16')) return { shaders: ['weights_f16_native'], enables: ['f16'] };
  // Q4_K and Q5_K share the unpacking of their sub-block scales; the formats that decode four
  // elements at a time share weight4/weight1 on top of their w_quad.
  const shaders = [`weights_${dtype}`];
  if (dtype === 'q4_k' || dtype === 'q5_k') shaders.unshift('weights_k_scales');
  if (QUAD_FORMATS.has(dtype)) shaders.push('weights_quad');
  return { shaders, enables: [] };
}

/** Binding 8 (data) and 9 (scales) of a slice, as the weight WGSL declares them. */
export function sliceBindings(slice: GpuTensorSlice): Record<number, GPUBuffer> {
  return slice.scales ? { 8: slice.data, 9: slice.scales } : { 8: slice.data };
}
