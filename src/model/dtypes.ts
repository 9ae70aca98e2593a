/** Storage types: sizes, decoding to float32, and the llama.cpp block quantizers. */
import type { DType, Tensor } from './types';
import { BLOCKS, dequantizeBlocks } from './block-formats';
import { bf16BitsToF32, f16BitsToF32 } from './half-float';

export const QK = 32;

/** Bytes of a tensor; quantized tensors must hold whole blocks (32 elements, 256 for K-quants). */
export function tensorByteSize(dtype: DType, shape: readonly number[]): number {
  const n = shape.reduce((a, b) => a * b, 1);
  switch (dtype) {
    case 'f32':
      return n * 4;
    case 'f16':
    case 'bf16':
      return n * 2;
    default: {
      const { elements, bytes } = BLOCKS[dtype];
      if (n % elements) throw new RangeError(`${dtype} needs a multiple of ${elements} elements, got ${n}`);
      return (n / elements) * bytes;
    }
  }
}

/** Decodes any supported tensor to float32 (a new array; f32 tensors are copied to align them). */
export function dequantize(t: Tensor): Float32Array {
  const n = t.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  const dv = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  switch (t.dtype) {
    case 'f32':
      // A 4-byte-aligned view copies in one go; otherwise read element by element.
      if (t.data.byteOffset % 4 === 0) out.set(new Float32Array(t.data.buffer, t.data.byteOffset, n));
      else for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true);
      break;
    case 'f16':
      for (let i = 0; i < n; i++) out[i] = f16BitsToF32(dv.getUint16(i * 2, true));
      break;
    case 'bf16':
      for (let i = 0; i < n; i++) out[i] = bf16BitsToF32(dv.getUint16(i * 2, true));
      break;
    default:
      dequantizeBlocks(t.dtype, t.data, n, out);
  }
  return out;
}
