/**
 * Fused weights: matrices that read the same input (q, k and v; gate and up) concatenated by rows
 * at upload, so one matvec / matmul dispatch computes them all and writes each part to its own
 * buffer (src/gpu/product_out.ts). Rows of every format are whole blocks, so the concatenation is
 * the byte concatenation of the tensors' data. Measured on lavapipe (SmolLM2-135M shapes): QKV as
 * one 960-row matvec 660 vs 758 us for the three, gate + up 2,130 vs 2,314 us (Q8_0).
 */
import { dequantize } from '../model/dtypes';
import type { Tensor } from '../model/types';

/** The rows of `tensors` one after another as one tensor, or null when their formats or widths differ. */
export function concatRows(tensors: Tensor[], name: string): Tensor | null {
  const [first] = tensors;
  const cols = first.shape[first.shape.length - 1];
  if (tensors.some((t) => t.dtype !== first.dtype || t.shape.length !== 2 || t.shape[1] !== cols)) return null;
  const data = new Uint8Array(tensors.reduce((s, t) => s + t.data.byteLength, 0));
  let at = 0;
  for (const t of tensors) {
    data.set(t.data, at);
    at += t.data.byteLength;
  }
  return { name, dtype: first.dtype, shape: [tensors.reduce((s, t) => s + t.shape[0], 0), cols], data };
}

/** Row where each part after the first starts. */
export function partStarts(tensors: Tensor[]): number[] {
  const starts: number[] = [];
  let at = 0;
  for (const t of tensors.slice(0, -1)) starts.push((at += t.shape[0]));
  return starts;
}

/** Vectors (biases) one after another, as f32. */
export function concatVectors(tensors: Tensor[], name: string): Tensor {
  const parts = tensors.map(dequantize);
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return { name, dtype: 'f32', shape: [out.length], data: new Uint8Array(out.buffer) };
}
