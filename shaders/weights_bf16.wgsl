// Weight matrix [rows, cols] stored as bf16, two per u32 word: a bf16 is the top half of an f32.
@group(0) @binding(8) var<storage, read> w_data: array<u32>;

fn bf16_pair(word: u32) -> vec2<f32> {
  return vec2<f32>(bitcast<f32>(word << 16u), bitcast<f32>(word & 0xffff0000u));
}

fn weight1(row: u32, col: u32, cols: u32) -> f32 {
  let i = row * cols + col;
  let pair = bf16_pair(w_data[i >> 1u]);
  return select(pair.x, pair.y, (i & 1u) == 1u);
}

fn weight4(row: u32, col: u32, cols: u32) -> vec4<f32> {
  let i = row * cols + col;
  if ((i & 1u) == 0u) {
    return vec4<f32>(bf16_pair(w_data[i >> 1u]), bf16_pair(w_data[(i >> 1u) + 1u]));
  }
  return vec4<f32>(weight1(row, col, cols), weight1(row, col + 1u, cols), weight1(row, col + 2u, cols), weight1(row, col + 3u, cols));
}
