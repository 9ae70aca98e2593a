// Weight matrix [rows, cols] stored as f16, two per u32 word (element 2k in the low half), read
// with core WGSL unpack2x16float: works without the shader-f16 feature (SwiftShader has none).
// Rows are grouped by 8 (src/gpu/weights.ts): each vec2 of words holds 4 halves of one row, and the
// 8 rows of a group follow each other for every 4-column chunk. Seen as vec4 words (two rows' chunks)
// so that the simple matvec reads 2 rows' chunks in one load. Interface: see weights_f32.wgsl.
@group(0) @binding(8) var<storage, read> w_data: array<vec4<u32>>;

// The chunk (a vec2 of words) holding columns col & ~3 .. (col & ~3) + 3 of `row`.
fn f16_chunk(row: u32, col: u32, cols: u32) -> u32 {
  return ((row >> 3u) * ((cols + 3u) >> 2u) + (col >> 2u)) * 8u + (row & 7u);
}

fn weight4(row: u32, col: u32, cols: u32) -> vec4<f32> {
  let i = f16_chunk(row, col, cols);
  let h = (i & 1u) * 2u;
  return vec4<f32>(unpack2x16float(w_data[i >> 1u][h]), unpack2x16float(w_data[i >> 1u][h + 1u]));
}

fn weight1(row: u32, col: u32, cols: u32) -> f32 {
  let i = f16_chunk(row, col, cols);
  let pair = unpack2x16float(w_data[i >> 1u][(i & 1u) * 2u + ((col >> 1u) & 1u)]);
  return select(pair.x, pair.y, (col & 1u) == 1u);
}

fn f16x4(a: u32, b: u32, xv: vec4<f32>) -> f32 {
  return dot(vec4<f32>(unpack2x16float(a), unpack2x16float(b)), xv);
}

// Optional group accessors (src/gpu/matvec.ts): the dot products of the 4-column chunk at col of
// group g's 8 rows with xv (four vec4 loads), and their block scales (none: 1).
fn group_dot4(g: u32, col: u32, cols: u32, xv: vec4<f32>) -> array<f32, 8> {
  let i = (g * ((cols + 3u) >> 2u) + (col >> 2u)) * 4u;
  let a = w_data[i];
  let b = w_data[i + 1u];
  let c = w_data[i + 2u];
  let d = w_data[i + 3u];
  return array<f32, 8>(f16x4(a.x, a.y, xv), f16x4(a.z, a.w, xv), f16x4(b.x, b.y, xv), f16x4(b.z, b.w, xv), f16x4(c.x, c.y, xv), f16x4(c.z, c.w, xv), f16x4(d.x, d.y, xv), f16x4(d.z, d.w, xv));
}

fn group_scales(g: u32, col: u32, cols: u32) -> array<f32, 8> {
  return array<f32, 8>(1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0);
}

// Optional group accessor of the simple matmul (src/gpu/matmul.ts): the 4-column chunk at col of
// group g's 8 rows, decoded (four vec4 loads).
fn group_weights4(g: u32, col: u32, cols: u32) -> array<vec4<f32>, 8> {
  let i = (g * ((cols + 3u) >> 2u) + (col >> 2u)) * 4u;
  let a = w_data[i];
  let b = w_data[i + 1u];
  let c = w_data[i + 2u];
  let d = w_data[i + 3u];
  return array<vec4<f32>, 8>(
    vec4<f32>(unpack2x16float(a.x), unpack2x16float(a.y)), vec4<f32>(unpack2x16float(a.z), unpack2x16float(a.w)),
    vec4<f32>(unpack2x16float(b.x), unpack2x16float(b.y)), vec4<f32>(unpack2x16float(b.z), unpack2x16float(b.w)),
    vec4<f32>(unpack2x16float(c.x), unpack2x16float(c.y)), vec4<f32>(unpack2x16float(c.z), unpack2x16float(c.w)),
    vec4<f32>(unpack2x16float(d.x), unpack2x16float(d.y)), vec4<f32>(unpack2x16float(d.z), unpack2x16float(d.w)));
}
