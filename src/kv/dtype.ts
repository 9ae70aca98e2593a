/** How the KV cache stores keys and values. */
import { f16BitsToF32, f32ToF16Bits } from '../model/half-float';

/**
 * 'f16': half precision (half the memory; on the GPU `f16` storage where the adapter has
 * shader-f16, two halves packed in a u32 where it does not); 'f32': single precision.
 */
export type KvDtype = 'f16' | 'f32';

export const KV_DTYPES: readonly KvDtype[] = ['f16', 'f32'];

/** Bytes per stored element. */
export function kvDtypeBytes(dtype: KvDtype): number {
  return dtype === 'f16' ? 2 : 4;
}

/**
 * The half nearest to `x` (ties to even), what `f16(x)` and `pack2x16float` store on the GPU: the
 * CPU reference's f16 cache stores through it, so both hold the same values.
 */
export function f16round(x: number): number {
  return f16BitsToF32(f32ToF16Bits(x));
}

/** What storing a float32 in the cache leaves: itself (f32) or its nearest half (f16). */
export function kvRounding(dtype: KvDtype): (x: number) => number {
  return dtype === 'f16' ? f16round : Math.fround;
}

export function parseKvDtype(text: string): KvDtype {
  if ((KV_DTYPES as readonly string[]).includes(text)) return text as KvDtype;
  throw new RangeError(`kvDtype must be one of ${KV_DTYPES.join(', ')}, got ${JSON.stringify(text)}`);
}
