// Weight matrix [rows, cols] stored as f16, read as native f16 (needs `enable f16;`, which the
// wrapper puts first in the module, and the shader-f16 feature). Same buffer (rows grouped by 8) as
// weights_f16.wgsl. Interface: see weights_f32.wgsl.
@group(0) @binding(8) var<storage, read> w_data: array<vec4<f16>>;

fn f16_chunk(row: u32, col: u32, cols: u32) -> u32 {
  return ((row >> 3u) * ((cols + 3u) >> 2u) + (col >> 2u)) * 8u + (row & 7u);
}

fn weight4(row: u32, col: u32, cols: u32) -> vec4<f32> {
  return vec4<f32>(w_data[f16_chunk(row, col, cols)]);
}

fn weight1(row: u32, col: u32, cols: u32) -> f32 {
  return f32(w_data[f16_chunk(row, col, cols)][col & 3u]);
}
