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

/**
 * Gate and up as one tensor with their rows interleaved in pairs: g0 g1 u0 u1 g2 g3 u2 u3 ..., so
 * that a simple matvec invocation (rows in aligned fours) holds the gate and up rows of the same
 * outputs and applies SiLU(gate) * up itself (product_out's `glu`). Null when the formats or widths
 * differ or the row count is odd.
 */
export function interleavePairs(gate: Tensor, up: Tensor, name: string): Tensor | null {
  const both = concatRows([gate, up], name);
  const rows = gate.shape[0];
  if (!both || rows % 2 !== 0 || up.shape[0] !== rows) return null;
  const rowBytes = gate.data.byteLength / rows;
  const data = new Uint8Array(both.data.byteLength);
  for (let r = 0; r < rows; r += 2) {
    data.set(gate.data.subarray(r * rowBytes, (r + 2) * rowBytes), 2 * r * rowBytes);
    data.set(up.data.subarray(r * rowBytes, (r + 2) * rowBytes), (2 * r + 2) * rowBytes);
  }
  return { ...both, data };
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
