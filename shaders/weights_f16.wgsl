// Weight matrix [rows, cols] stored as f16, two per u32 word (element 2k in the low half), read
// with core WGSL unpack2x16float: works without the shader-f16 feature (SwiftShader has none).
// Rows are grouped by 8 (src/gpu/weights.ts): each vec2 holds 4 halves of one row, and the 8 rows
// of a group follow each other for every 4-column chunk. Interface: see weights_f32.wgsl.
@group(0) @binding(8) var<storage, read> w_data: array<vec2<u32>>;

// The vec2 holding columns col & ~3 .. (col & ~3) + 3 of `row`.
fn f16_chunk(row: u32, col: u32, cols: u32) -> u32 {
  return ((row >> 3u) * ((cols + 3u) >> 2u) + (col >> 2u)) * 8u + (row & 7u);
}

fn weight4(row: u32, col: u32, cols: u32) -> vec4<f32> {
  let w = w_data[f16_chunk(row, col, cols)];
  return vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y));
}

fn weight1(row: u32, col: u32, cols: u32) -> f32 {
  let pair = unpack2x16float(w_data[f16_chunk(row, col, cols)][(col >> 1u) & 1u]);
  return select(pair.x, pair.y, (col & 1u) == 1u);
}
