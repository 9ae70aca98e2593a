/**
 * The output side of matvec and matmul (shaders/product_out.wgsl): one buffer, or each part of a
 * fused weight in its own buffer (QKV into q, k, v; gate + up into gate, up), plus an optional bias.
 */
import type { Scalar } from './uniforms';
import type { GpuTensor, GpuTensorSlice } from './weights';

export interface ProductOutput {
  /** Output buffer (the first part of a fused weight). */
  y: GPUBuffer;
  /** Later parts of a fused weight: rows from `from` (of the whole weight) up to the next part go to `y`, [T, part rows]. */
  parts?: { from: number; y: GPUBuffer }[];
  /** [rows] f32 added to every token's output (Qwen2's q/k/v biases; concatenated for a fused weight). */
  bias?: GPUBuffer;
  /**
   * The weight is gate and up with rows interleaved in pairs (src/gpu/fused.ts `interleavePairs`),
   * `parts` = [{ from: gate rows, y: up }]: rows are written back de-interleaved to y (gate) and up;
   * the simple matvec writes SiLU(gate) * up to y instead (and nothing to up).
   */
  glu?: boolean;
}

/** The uniform fields product_out.wgsl reads, spread into MatvecParams and MatmulParams. */
export const OUTPUT_FIELDS = { rowStart: 'u32', split1: 'u32', split2: 'u32', totalRows: 'u32' } as const satisfies Record<string, Scalar>;

/** The OUTPUT_FIELDS values of a slice. */
export function outputFields(weight: GpuTensor, slice: GpuTensorSlice, out: ProductOutput): Record<keyof typeof OUTPUT_FIELDS, number> {
  const parts = out.parts ?? [];
  if (parts.length > 2) throw new RangeError(`${weight.name}: at most 3 output parts (got ${parts.length + 1})`);
  const split1 = parts[0]?.from ?? weight.rows;
  const split2 = parts[1]?.from ?? weight.rows;
  if (!(split1 > 0 && split1 <= split2 && split2 <= weight.rows)) throw new RangeError(`${weight.name}: output parts from ${split1} and ${split2} of ${weight.rows} rows`);
  return { rowStart: slice.rowStart, split1, split2, totalRows: weight.rows };
}

/** Bindings 3, 5 and 6 (the parts, when split) and 7 (the bias). */
export function outputBindings(out: ProductOutput): Record<number, GPUBuffer> {
  const b: Record<number, GPUBuffer> = { 3: out.y };
  out.parts?.forEach((part, i) => (b[5 + i] = part.y));
  if (out.bias) b[7] = out.bias;
  return b;
}

/** Rows of the first part (the stride of its tokens by default). */
export function firstPartRows(weight: GpuTensor, out: ProductOutput): number {
  return out.parts?.[0]?.from ?? weight.rows;
}

/** put_part for gate/up interleaved in pairs: row r is gate or up (bit 1) of output (r >> 2) * 2 + (r & 1). */
const GLU_PUT = `
@group(0) @binding(5) var<storage, read_write> y2: array<f32>;
fn put_part(t: u32, r: u32, v: f32) -> bool {
  let i = t * p.split1 + (r >> 2u) * 2u + (r & 1u);
  if ((r & 2u) == 0u) { y[i] = v; } else { y2[i] = v; }
  return true;
}
`;

/** put_part for a weight in 1, 2 or 3 parts (y2 at binding 5, y3 at 6). */
function putPart(parts: number): string {
  if (parts === 1) return 'fn put_part(t: u32, r: u32, v: f32) -> bool { return false; }\n';
  const third = `
@group(0) @binding(6) var<storage, read_write> y3: array<f32>;
fn put_third(t: u32, r: u32, v: f32) -> bool {
  if (r < p.split2) { return false; }
  y3[t * (p.totalRows - p.split2) + r - p.split2] = v;
  return true;
}
`;
  return `
@group(0) @binding(5) var<storage, read_write> y2: array<f32>;
${parts === 3 ? third : 'fn put_third(t: u32, r: u32, v: f32) -> bool { return false; }\n'}
fn put_part(t: u32, r: u32, v: f32) -> bool {
  if (put_third(t, r, v)) { return true; }
  if (r < p.split1) { return false; }
  y2[t * (p.split2 - p.split1) + r - p.split1] = v;
  return true;
}
`;
}

/** The prelude's bias_at and put_part (shaders/product_out.wgsl). */
export function outputPrelude(out: Pick<ProductOutput, 'bias' | 'parts' | 'glu'>): string {
  const bias = out.bias
    ? '@group(0) @binding(7) var<storage, read> bias: array<f32>;\nfn bias_at(r: u32) -> f32 { return bias[r]; }\n'
    : 'fn bias_at(r: u32) -> f32 { return 0.0; }\n';
  if (out.glu && (out.parts?.length !== 1 || out.bias)) throw new RangeError('glu output: one part (up) after gate, no bias');
  return bias + `const GLU: bool = ${!!out.glu};\n` + (out.glu ? GLU_PUT : putPart(1 + (out.parts?.length ?? 0)));
}
