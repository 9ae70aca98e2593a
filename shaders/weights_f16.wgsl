// Weight matrix [rows, cols] stored as f16, two per u32 word (works without the shader-f16 feature).
@group(0) @binding(8) var<storage, read> w_data: array<u32>;

fn weight1(row: u32, col: u32, cols: u32) -> f32 {
  let i = row * cols + col;
  let pair = unpack2x16float(w_data[i >> 1u]);
  return select(pair.x, pair.y, (i & 1u) == 1u);
}

fn weight4(row: u32, col: u32, cols: u32) -> vec4<f32> {
  let i = row * cols + col;
  if ((i & 1u) == 0u) {
    return vec4<f32>(unpack2x16float(w_data[i >> 1u]), unpack2x16float(w_data[(i >> 1u) + 1u]));
  }
  return vec4<f32>(weight1(row, col, cols), weight1(row, col + 1u, cols), weight1(row, col + 2u, cols), weight1(row, col + 3u, cols));
}
