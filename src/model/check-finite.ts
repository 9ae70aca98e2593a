/**
 * No weight is NaN or infinite: one would turn every logit into NaN, and the sampler would then emit
 * an arbitrary id with no error. Floats are checked by their exponent bits (all ones), block types
 * by their f16 scales (the quants themselves are small integers), in one pass over the bytes.
 */
import { ModelFormatError } from '../errors';
import type { BlockDType } from './block-formats';
import { BLOCKS } from './block-formats';
import type { Tensor } from './types';

/** Byte offsets of the f16 scales in one block, as ggml's block_* structs lay them out. */
const SCALES: Record<BlockDType, number[]> = {
  q8_0: [0], q4_0: [0], q4_1: [0, 2], q5_0: [0], q5_1: [0, 2], q4_k: [0, 2], q5_k: [0, 2], q6_k: [208],
};

/** Index of the first `size`-byte word whose exponent bits (`mask`) are all ones, or -1. */
function firstAllOnes(data: Uint8Array, size: 2 | 4, mask: number): number {
  const n = data.byteLength / size;
  if (data.byteOffset % size === 0) {
    // The fast path: a typed array over the bytes (views into a file are usually aligned).
    const words = size === 4 ? new Uint32Array(data.buffer, data.byteOffset, n) : new Uint16Array(data.buffer, data.byteOffset, n);
    for (let i = 0; i < n; i++) if ((words[i] & mask) === mask) return i;
    return -1;
  }
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let i = 0; i < n; i++) if (((size === 4 ? dv.getUint32(i * 4, true) : dv.getUint16(i * 2, true)) & mask) === mask) return i;
  return -1;
}

/** Index of the first non-finite element (a block's first element for a block type), or -1. */
function firstNonFinite(t: Tensor): number {
  const { data } = t;
  switch (t.dtype) {
    case 'f32':
      return firstAllOnes(data, 4, 0x7f800000);
    case 'f16':
      return firstAllOnes(data, 2, 0x7c00);
    case 'bf16':
      return firstAllOnes(data, 2, 0x7f80);
    default: {
      const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
      const { elements, bytes } = BLOCKS[t.dtype];
      const scales = SCALES[t.dtype];
      for (let b = 0, n = data.byteLength / bytes; b < n; b++) for (const s of scales) if ((dv.getUint16(b * bytes + s, true) & 0x7c00) === 0x7c00) return b * elements;
      return -1;
    }
  }
}

export function checkFinite(tensors: Map<string, Tensor>, file?: string): void {
  for (const t of new Set(tensors.values())) {
    const at = firstNonFinite(t);
    if (at >= 0) throw new ModelFormatError('non-finite', `tensor ${t.name} holds a NaN or infinite ${t.dtype.startsWith('q') ? `block scale (the block at element ${at})` : `value (element ${at})`}`, file);
  }
}
