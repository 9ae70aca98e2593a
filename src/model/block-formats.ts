/**
 * llama.cpp's block-quantized storage types: their block sizes and their decoding to float32
 * (ggml's dequantize_row_* for each). A row holds whole blocks: 32 elements for the legacy types,
 * 256 (a super-block of 8 or 16 sub-blocks with their own scales) for the K-quants.
 */
import { f16BitsToF32 } from './half-float';

export type BlockDType = 'q8_0' | 'q4_0' | 'q4_1' | 'q5_0' | 'q5_1' | 'q4_k' | 'q5_k' | 'q6_k';

/** Elements and bytes of one block, as ggml stores them. */
export const BLOCKS: Record<BlockDType, { elements: number; bytes: number }> = {
  q8_0: { elements: 32, bytes: 34 },
  q4_0: { elements: 32, bytes: 18 },
  q4_1: { elements: 32, bytes: 20 },
  q5_0: { elements: 32, bytes: 22 },
  q5_1: { elements: 32, bytes: 24 },
  q4_k: { elements: 256, bytes: 144 },
  q5_k: { elements: 256, bytes: 176 },
  q6_k: { elements: 256, bytes: 210 },
};

export function isBlockDType(dtype: string): dtype is BlockDType {
  return dtype in BLOCKS;
}

/** Scale and min of sub-block j of a Q4_K / Q5_K super-block: six bits each, packed in 12 bytes. */
export function scaleMinK4(j: number, q: Uint8Array): [number, number] {
  if (j < 4) return [q[j] & 63, q[j + 4] & 63];
  return [(q[j + 4] & 0xf) | ((q[j - 4] >> 6) << 4), (q[j + 4] >> 4) | ((q[j] >> 6) << 4)];
}

/** Decodes `n` elements of block-quantized bytes into `out`. */
export function dequantizeBlocks(dtype: BlockDType, src: Uint8Array, n: number, out: Float32Array): void {
  const { elements, bytes } = BLOCKS[dtype];
  const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const half = (o: number) => f16BitsToF32(dv.getUint16(o, true));
  for (let b = 0; b < n / elements; b++) {
    const o = b * bytes;
    const y = b * elements;
    switch (dtype) {
      case 'q8_0': {
        const d = half(o);
        for (let j = 0; j < 32; j++) out[y + j] = d * dv.getInt8(o + 2 + j);
        break;
      }
      case 'q4_0':
      case 'q4_1': {
        // q4_0: (q - 8) * d; q4_1: q * d + m.
        const d = half(o);
        const m = dtype === 'q4_1' ? half(o + 2) : -8 * d;
        const qs = o + (dtype === 'q4_1' ? 4 : 2);
        for (let j = 0; j < 16; j++) {
          const v = src[qs + j];
          out[y + j] = dtype === 'q4_1' ? (v & 15) * d + m : ((v & 15) - 8) * d;
          out[y + j + 16] = dtype === 'q4_1' ? (v >> 4) * d + m : ((v >> 4) - 8) * d;
        }
        break;
      }
      case 'q5_0':
      case 'q5_1': {
        // Bit j of qh is the fifth bit of element j. q5_0: (q - 16) * d; q5_1: q * d + m.
        const d = half(o);
        const hasMin = dtype === 'q5_1';
        const m = hasMin ? half(o + 2) : 0;
        const qh = dv.getUint32(o + (hasMin ? 4 : 2), true);
        const qs = o + (hasMin ? 8 : 6);
        for (let j = 0; j < 16; j++) {
          const lo = (src[qs + j] & 15) | (((qh >>> j) & 1) << 4);
          const hi = (src[qs + j] >> 4) | (((qh >>> (j + 16)) & 1) << 4);
          out[y + j] = hasMin ? lo * d + m : (lo - 16) * d;
          out[y + j + 16] = hasMin ? hi * d + m : (hi - 16) * d;
        }
        break;
      }
      case 'q4_k':
      case 'q5_k': {
        // 8 sub-blocks of 32: value = d * scale * q - dmin * min. Each 64 elements share 32 quant
        // bytes (low nibbles first); Q5_K's fifth bits are bit 2g (first 32) / 2g+1 of qh[l].
        const d = half(o);
        const dmin = half(o + 2);
        const scales = src.subarray(o + 4, o + 16);
        const five = dtype === 'q5_k';
        const qh = o + 16;
        const qs = o + (five ? 48 : 16);
        for (let g = 0; g < 4; g++)
          for (let s = 0; s < 2; s++) {
            const [sc, mn] = scaleMinK4(2 * g + s, scales);
            const d1 = d * sc;
            const m1 = dmin * mn;
            for (let l = 0; l < 32; l++) {
              let q = (src[qs + g * 32 + l] >> (4 * s)) & 15;
              if (five) q += ((src[qh + l] >> (2 * g + s)) & 1) << 4;
              out[y + g * 64 + s * 32 + l] = d1 * q - m1;
            }
          }
        break;
      }
      case 'q6_k': {
        // 16 sub-blocks of 16 with int8 scales; each half (128 elements) has 64 ql bytes (low four
        // bits: quarter k uses byte l + 32 (k & 1), nibble k >> 1) and 32 qh bytes (bits 2k, 2k+1).
        const d = half(o + 208);
        for (let n = 0; n < 2; n++)
          for (let k = 0; k < 4; k++)
            for (let l = 0; l < 32; l++) {
              const lo = (src[o + n * 64 + l + 32 * (k & 1)] >> (4 * (k >> 1))) & 15;
              const hi = (src[o + 128 + n * 32 + l] >> (2 * k)) & 3;
              const sc = dv.getInt8(o + 192 + n * 8 + (l >> 4) + 2 * k);
              out[y + n * 128 + k * 32 + l] = d * sc * ((lo | (hi << 4)) - 32);
            }
        break;
      }
    }
  }
}
