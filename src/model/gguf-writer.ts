/** Writes GGUF v3 files: synthetic models at real shapes for the benchmark, and test fixtures. */
import { GGML_TYPE_IDS, type GgufValue } from './gguf';
import type { DType } from './types';

export interface GgufTensorOut {
  name: string;
  dtype: DType;
  /** Outermost first, as in our Tensor. */
  shape: number[];
  data: Uint8Array;
}

const ALIGN = 32;

export function writeGguf(metadata: [string, GgufValue][], tensors: GgufTensorOut[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const enc = new TextEncoder();
  const u32 = (v: number) => new Uint8Array(Uint32Array.of(v).buffer);
  const u64 = (v: number) => new Uint8Array(BigUint64Array.of(BigInt(v)).buffer);
  const str = (s: string) => {
    const b = enc.encode(s);
    parts.push(u64(b.length), b);
  };
  const value = (v: GgufValue, type = typeOf(v)) => {
    switch (type) {
      case 4: parts.push(u32(v as number)); break;
      case 6: parts.push(new Uint8Array(Float32Array.of(v as number).buffer)); break;
      case 7: parts.push(Uint8Array.of(v ? 1 : 0)); break;
      case 8: str(v as string); break;
      case 9: {
        const arr = v as GgufValue[];
        const itemType = arr.length ? typeOf(arr[0]) : 4;
        parts.push(u32(itemType), u64(arr.length));
        for (const item of arr) value(item, itemType);
        break;
      }
    }
  };
  parts.push(enc.encode('GGUF'), u32(3), u64(tensors.length), u64(metadata.length));
  for (const [key, v] of metadata) {
    str(key);
    parts.push(u32(typeOf(v)));
    value(v);
  }
  let offset = 0;
  const offsets: number[] = [];
  for (const t of tensors) {
    str(t.name);
    parts.push(u32(t.shape.length));
    for (const d of [...t.shape].reverse()) parts.push(u64(d));
    parts.push(u32(GGML_TYPE_IDS[t.dtype]), u64(offset));
    offsets.push(offset);
    offset = Math.ceil((offset + t.data.byteLength) / ALIGN) * ALIGN;
  }
  const headerLen = parts.reduce((s, p) => s + p.byteLength, 0);
  const dataStart = Math.ceil(headerLen / ALIGN) * ALIGN;
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
  if (typeof v === 'string') return 8;
  if (typeof v === 'boolean') return 7;
  if (Array.isArray(v)) return 9;
  return Number.isInteger(v) && (v as number) >= 0 ? 4 : 6;
}

/** llama.cpp's q/k row order (the inverse of `unpermuteRows`). */
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
