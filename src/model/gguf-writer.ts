/** Writes GGUF v3 files: synthetic models at real shapes for the benchmark, and test fixtures. */
import { GGML_TYPE_IDS, GGUF_TYPE, type GgufTypeName, type GgufValue } from './gguf';
import { tensorByteSize } from './dtypes';
import type { DType } from './types';

export interface GgufTensorOut {
  name: string;
  dtype: DType;
  /** Outermost first, as in our Tensor (written innermost first, as GGUF stores dims). */
  shape: number[];
  /** Already in GGUF row order: q/k go through `permuteRows` first, as llama.cpp's converter does. */
  data: Uint8Array;
}

/**
 * A metadata entry. The type is inferred unless given (for arrays: the item type): strings, booleans,
 * non-negative integers as u32 (u64 past 2^32 or bigint), negative integers as i32, other numbers as
 * f32. llama.cpp reads keys like rope.freq_base as f32 only: pass 'f32' for an integral float.
 */
export type GgufMetadataEntry = [key: string, value: GgufValue, type?: GgufTypeName];

export function writeGguf(metadata: GgufMetadataEntry[], tensors: GgufTensorOut[]): Uint8Array {
  const align = Number(metadata.find(([k]) => k === 'general.alignment')?.[1] ?? 32);
  const parts: Uint8Array[] = [];
  const enc = new TextEncoder();
  const bytes = (n: number, set: (dv: DataView) => void) => {
    const b = new Uint8Array(n);
    set(new DataView(b.buffer));
    parts.push(b);
  };
  const u32 = (v: number) => bytes(4, (dv) => dv.setUint32(0, v, true));
  const u64 = (v: number | bigint) => bytes(8, (dv) => dv.setBigUint64(0, BigInt(v), true));
  const str = (s: string) => {
    const b = enc.encode(s);
    u64(b.length);
    parts.push(b);
  };
  const value = (v: GgufValue, type: number, itemType?: number): void => {
    switch (type) {
      case GGUF_TYPE.u8: return bytes(1, (dv) => dv.setUint8(0, Number(v)));
      case GGUF_TYPE.i8: return bytes(1, (dv) => dv.setInt8(0, Number(v)));
      case GGUF_TYPE.u16: return bytes(2, (dv) => dv.setUint16(0, Number(v), true));
      case GGUF_TYPE.i16: return bytes(2, (dv) => dv.setInt16(0, Number(v), true));
      case GGUF_TYPE.u32: return u32(Number(v));
      case GGUF_TYPE.i32: return bytes(4, (dv) => dv.setInt32(0, Number(v), true));
      case GGUF_TYPE.f32: return bytes(4, (dv) => dv.setFloat32(0, Number(v), true));
      case GGUF_TYPE.bool: return bytes(1, (dv) => dv.setUint8(0, v ? 1 : 0));
      case GGUF_TYPE.string: return str(String(v));
      case GGUF_TYPE.array: {
        const arr = v as GgufValue[];
        const t = itemType ?? (arr.length ? typeOf(arr[0]) : GGUF_TYPE.u32);
        u32(t);
        u64(arr.length);
        for (const item of arr) value(item, t);
        return;
      }
      case GGUF_TYPE.u64: return u64(BigInt(v as number | bigint));
      case GGUF_TYPE.i64: return bytes(8, (dv) => dv.setBigInt64(0, BigInt(v as number | bigint), true));
      case GGUF_TYPE.f64: return bytes(8, (dv) => dv.setFloat64(0, Number(v), true));
    }
  };

  parts.push(enc.encode('GGUF'));
  u32(3);
  u64(tensors.length);
  u64(metadata.length);
  for (const [key, v, name] of metadata) {
    str(key);
    const explicit = name === undefined ? undefined : GGUF_TYPE[name];
    const type = Array.isArray(v) ? GGUF_TYPE.array : (explicit ?? typeOf(v));
    u32(type);
    value(v, type, Array.isArray(v) ? explicit : undefined);
  }
  let offset = 0;
  const offsets: number[] = [];
  for (const t of tensors) {
    if (t.data.byteLength !== tensorByteSize(t.dtype, t.shape)) throw new RangeError(`tensor ${t.name}: ${t.data.byteLength} bytes do not fit ${t.dtype} ${JSON.stringify(t.shape)}`);
    str(t.name);
    u32(t.shape.length);
    for (const d of [...t.shape].reverse()) u64(d);
    u32(GGML_TYPE_IDS[t.dtype]);
    u64(offset);
    offsets.push(offset);
    offset = Math.ceil((offset + t.data.byteLength) / align) * align;
  }
  const headerLen = parts.reduce((s, p) => s + p.byteLength, 0);
  const dataStart = Math.ceil(headerLen / align) * align;
  const out = new Uint8Array(dataStart + offset);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  tensors.forEach((t, i) => out.set(t.data, dataStart + offsets[i]));
  return out;
}

function typeOf(v: GgufValue): number {
  if (typeof v === 'string') return GGUF_TYPE.string;
  if (typeof v === 'boolean') return GGUF_TYPE.bool;
  if (Array.isArray(v)) return GGUF_TYPE.array;
  if (typeof v === 'bigint') return v < 0n ? GGUF_TYPE.i64 : GGUF_TYPE.u64;
  if (!Number.isInteger(v)) return GGUF_TYPE.f32;
  if (v < 0) return v >= -(2 ** 31) ? GGUF_TYPE.i32 : GGUF_TYPE.i64;
  return v < 2 ** 32 ? GGUF_TYPE.u32 : GGUF_TYPE.u64;
}

/** llama.cpp's q/k row order (the inverse of `unpermuteRows`): HF row h*d + s*d/2 + i -> row h*d + 2i + s. */
export function permuteRows(data: Uint8Array, rows: number, heads: number): Uint8Array {
  const rowBytes = data.byteLength / rows;
  const hd = rows / heads;
  const out = new Uint8Array(data.byteLength);
  for (let h = 0; h < heads; h++)
    for (let i = 0; i < hd / 2; i++)
      for (let s = 0; s < 2; s++) {
        const src = (h * hd + s * (hd / 2) + i) * rowBytes;
        out.set(data.subarray(src, src + rowBytes), (h * hd + 2 * i + s) * rowBytes);
      }
  return out;
}
