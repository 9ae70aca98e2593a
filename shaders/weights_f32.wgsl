// Weight matrix [rows, cols] stored as f32 (src/gpu/weights.ts). Every weights_<format>.wgsl defines
//   fn weight4(row, col, cols) -> vec4<f32>: W[row, col..col+3]; needs (row * cols + col) % 4 == 0
//                                             (kernels use it when cols % 4 == 0, col % 4 == 0);
//   fn weight1(row, col, cols) -> f32:        W[row, col], any col (the scalar path for other cols).
// Row indices are relative to the bound slice.
@group(0) @binding(8) var<storage, read> w_data: array<vec4<f32>>;

fn weight4(row: u32, col: u32, cols: u32) -> vec4<f32> {
  return w_data[(row * cols + col) >> 2u];
}

fn weight1(row: u32, col: u32, cols: u32) -> f32 {
  let i = row * cols + col;
  return w_data[i >> 2u][i & 3u];
}
