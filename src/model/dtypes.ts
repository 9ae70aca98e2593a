/** Storage types: sizes, decoding to float32, and the llama.cpp block quantizers. */
import type { DType, Tensor } from './types';
import { BLOCKS, dequantizeBlocks } from './block-formats';

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

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function f16BitsToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Round-to-nearest-even float32 -> float16 bits. */
export function f32ToF16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}

export function bf16BitsToF32(h: number): number {
  u32[0] = h << 16;
  return f32[0];
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
