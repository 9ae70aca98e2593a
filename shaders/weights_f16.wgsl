// Weight matrix [rows, cols] stored as f16, two per u32 word (element 2k in the low half), read
// with core WGSL unpack2x16float: works without the shader-f16 feature (SwiftShader has none).
// Interface: see weights_f32.wgsl.
@group(0) @binding(8) var<storage, read> w_data: array<vec2<u32>>;

fn weight4(row: u32, col: u32, cols: u32) -> vec4<f32> {
  let w = w_data[(row * cols + col) >> 2u];
  return vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y));
}

fn weight1(row: u32, col: u32, cols: u32) -> f32 {
  let i = row * cols + col;
  let pair = unpack2x16float(w_data[i >> 2u][(i >> 1u) & 1u]);
  return select(pair.x, pair.y, (i & 1u) == 1u);
}
