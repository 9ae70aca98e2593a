/** Float32 math primitives of the CPU reference; accumulation is in float64, storage in float32. */
import type { RopeConfig } from '../model/types';

export function rmsnorm(out: Float32Array, x: Float32Array, weight: Float32Array, eps: number): void {
  let ss = 0;
  for (let i = 0; i < x.length; i++) ss += x[i] * x[i];
  const scale = 1 / Math.sqrt(ss / x.length + eps);
  for (let i = 0; i < x.length; i++) out[i] = weight[i] * (scale * x[i]);
}

/** y = W x for W [rows, cols] row-major (optionally a row range of a larger matrix). */
export function matvec(out: Float32Array, w: Float32Array, x: Float32Array, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    let acc = 0;
    const base = r * cols;
    for (let c = 0; c < cols; c++) acc += w[base + c] * x[c];
    out[r] = acc;
  }
}

export function silu(x: number): number {
  return x / (1 + Math.exp(-x));
}

/** Rotates every head of `x` (heads * headDim) in place for position `pos`. */
export function rope(x: Float32Array, heads: number, headDim: number, pos: number, invFreq: Float32Array, layout: RopeConfig['layout']): void {
  const half = headDim / 2;
  for (let h = 0; h < heads; h++) {
    const base = h * headDim;
    for (let i = 0; i < half; i++) {
      // The angle in float32, as the float32 references (llama2.c, transformers) compute it.
      const angle = Math.fround(pos * invFreq[i]);
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      const a = layout === 'half' ? base + i : base + 2 * i;
      const b = layout === 'half' ? base + i + half : base + 2 * i + 1;
      const x0 = x[a];
      const x1 = x[b];
      x[a] = x0 * c - x1 * s;
      x[b] = x0 * s + x1 * c;
    }
  }
}
