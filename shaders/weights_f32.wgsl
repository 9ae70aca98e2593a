// Weight matrix [rows, cols] stored as f32.
@group(0) @binding(8) var<storage, read> w_data: array<f32>;

fn weight1(row: u32, col: u32, cols: u32) -> f32 {
  return w_data[row * cols + col];
}

fn weight4(row: u32, col: u32, cols: u32) -> vec4<f32> {
  let i = row * cols + col;
  return vec4<f32>(w_data[i], w_data[i + 1u], w_data[i + 2u], w_data[i + 3u]);
}
