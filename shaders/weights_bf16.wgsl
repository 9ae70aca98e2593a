// Weight matrix [rows, cols] stored as bf16, two per u32 word (element 2k in the low half):
// a bf16 is the top half of an f32. Interface: see weights_f32.wgsl.
@group(0) @binding(8) var<storage, read> w_data: array<vec2<u32>>;

fn bf16_pair(word: u32) -> vec2<f32> {
  return vec2<f32>(bitcast<f32>(word << 16u), bitcast<f32>(word & 0xffff0000u));
}

fn weight4(row: u32, col: u32, cols: u32) -> vec4<f32> {
  let w = w_data[(row * cols + col) >> 2u];
  return vec4<f32>(bf16_pair(w.x), bf16_pair(w.y));
}

fn weight1(row: u32, col: u32, cols: u32) -> f32 {
  let i = row * cols + col;
  let word = w_data[i >> 2u][(i >> 1u) & 1u];
  return bitcast<f32>(select(word << 16u, word & 0xffff0000u, (i & 1u) == 1u));
}
