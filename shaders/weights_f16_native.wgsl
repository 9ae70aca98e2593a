// Weight matrix [rows, cols] stored as f16, read as native f16 (needs `enable f16;`, which the
// wrapper puts first in the module, and the shader-f16 feature). Same buffer as weights_f16.wgsl.
// Interface: see weights_f32.wgsl.
@group(0) @binding(8) var<storage, read> w_data: array<vec4<f16>>;

fn weight4(row: u32, col: u32, cols: u32) -> vec4<f32> {
  return vec4<f32>(w_data[(row * cols + col) >> 2u]);
}

fn weight1(row: u32, col: u32, cols: u32) -> f32 {
  let i = row * cols + col;
  return f32(w_data[i >> 2u][i & 3u]);
}
