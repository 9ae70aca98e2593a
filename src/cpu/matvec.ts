/**
 * CPU reference of shaders/matvec_f32.wgsl: y = W x, W [rows, cols] f32 row-major.
 * Sums in float64 (JS numbers) and rounds once, so it is the exact product to within one f32
 * rounding: GPU results are compared against it with a tolerance for f32 accumulation only.
 */
export function matvec(W: Float32Array, x: Float32Array, rows: number, cols: number): Float32Array {
  if (W.length < rows * cols) throw new RangeError(`matvec: W has ${W.length} elements, needs rows*cols = ${rows * cols}`);
  if (x.length < cols) throw new RangeError(`matvec: x has ${x.length} elements, needs cols = ${cols}`);
  const y = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let s = 0;
    for (let c = 0; c < cols; c++) s += W[base + c] * x[c];
    y[r] = s;
  }
  return y;
}
