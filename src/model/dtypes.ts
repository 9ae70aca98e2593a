/** Storage types: sizes, decoding to float32, and the llama.cpp block quantizers. */
import type { DType, Tensor } from './types';

export const QK = 32;
const BLOCK_BYTES = { q8_0: 34, q4_0: 18 } as const;

/** Bytes of a tensor; quantized tensors must hold whole 32-element blocks. */
export function tensorByteSize(dtype: DType, shape: readonly number[]): number {
  const n = shape.reduce((a, b) => a * b, 1);
  switch (dtype) {
    case 'f32':
      return n * 4;
    case 'f16':
    case 'bf16':
      return n * 2;
    case 'q8_0':
    case 'q4_0':
      if (n % QK) throw new RangeError(`${dtype} needs a multiple of ${QK} elements, got ${n}`);
      return (n / QK) * BLOCK_BYTES[dtype];
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
    case 'q8_0':
      for (let b = 0; b < n / QK; b++) {
        const o = b * 34;
        const d = f16BitsToF32(dv.getUint16(o, true));
        for (let j = 0; j < QK; j++) out[b * QK + j] = d * dv.getInt8(o + 2 + j);
      }
      break;
    case 'q4_0':
      for (let b = 0; b < n / QK; b++) {
        const o = b * 18;
        const d = f16BitsToF32(dv.getUint16(o, true));
        for (let j = 0; j < 16; j++) {
          const byte = dv.getUint8(o + 2 + j);
          out[b * QK + j] = d * ((byte & 15) - 8);
          out[b * QK + j + 16] = d * ((byte >> 4) - 8);
        }
      }
      break;
  }
  return out;
}

/** C's roundf; Math.round would send -2.5 to -2. */
const roundHalfAway = (v: number) => Math.sign(v) * Math.round(Math.abs(v));

/** llama.cpp's reference Q8_0 quantizer (d = amax / 127, round half away from zero). */
export function quantizeQ8_0(x: Float32Array): Uint8Array {
  if (x.length % QK) throw new RangeError('Q8_0 needs a multiple of 32 values');
  const out = new Uint8Array((x.length / QK) * 34);
  const dv = new DataView(out.buffer);
  for (let b = 0; b < x.length / QK; b++) {
    let amax = 0;
    for (let j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(x[b * QK + j]));
    const d = amax / 127;
    const id = d ? 1 / d : 0;
    dv.setUint16(b * 34, f32ToF16Bits(d), true);
    for (let j = 0; j < QK; j++) dv.setInt8(b * 34 + 2 + j, roundHalfAway(x[b * QK + j] * id));
  }
  return out;
}

/** llama.cpp's reference Q4_0 quantizer (d = max / -8 keeping the sign of the largest magnitude). */
export function quantizeQ4_0(x: Float32Array): Uint8Array {
  if (x.length % QK) throw new RangeError('Q4_0 needs a multiple of 32 values');
  const out = new Uint8Array((x.length / QK) * 18);
  const dv = new DataView(out.buffer);
  for (let b = 0; b < x.length / QK; b++) {
    let amax = 0;
    let max = 0;
    for (let j = 0; j < QK; j++) {
      const v = x[b * QK + j];
      if (Math.abs(v) > amax) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = max / -8;
    const id = d ? 1 / d : 0;
    dv.setUint16(b * 18, f32ToF16Bits(d), true);
    for (let j = 0; j < 16; j++) {
      const lo = Math.min(15, Math.trunc(x[b * QK + j] * id + 8.5));
      const hi = Math.min(15, Math.trunc(x[b * QK + j + 16] * id + 8.5));
      dv.setUint8(b * 18 + 2 + j, lo | (hi << 4));
    }
  }
  return out;
}
