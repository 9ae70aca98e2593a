// llama.cpp Q8_0, repacked at upload (src/gpu/weights.ts): the int8 quants four per u32 word, the
// f16 block scales two per word, both with rows grouped by 8 (the group's 8 words of a 4-column
// chunk, and its 8 scales of a block, follow each other); value = q * d. cols is a multiple of 32,
// so a 4-aligned column never straddles a word or a block. Interface: see weights_f32.wgsl.
// Seen as vec4 words so that the simple matvec reads 4 rows' words (or a group's 8 scales) in one load.
@group(0) @binding(8) var<storage, read> w_data: array<vec4<u32>>;
@group(0) @binding(9) var<storage, read> w_scales: array<vec4<u32>>;

// Grouped indices: the word of columns col & ~3 .. +3, and the block of col, of `row`.
fn q_word(row: u32, col: u32, cols: u32) -> u32 {
  return ((row >> 3u) * (cols >> 2u) + (col >> 2u)) * 8u + (row & 7u);
}

fn q_block(row: u32, col: u32, cols: u32) -> u32 {
  return ((row >> 3u) * (cols >> 5u) + (col >> 5u)) * 8u + (row & 7u);
}

fn q_scale(block: u32) -> f32 {
  let pair = unpack2x16float(w_scales[block >> 3u][(block >> 1u) & 3u]);
  return select(pair.x, pair.y, (block & 1u) == 1u);
}

// The four int8 of a word, as f32 (sign-extended by arithmetic shifts: core WGSL everywhere).
fn q8x4(w: u32) -> vec4<f32> {
  let q = vec4<i32>(bitcast<i32>(w << 24u), bitcast<i32>(w << 16u), bitcast<i32>(w << 8u), bitcast<i32>(w)) >> vec4<u32>(24u);
  return vec4<f32>(q);
}

// The block's scale, and the chunk's quants unscaled (matvec applies the scale once per block).
fn block_scale(row: u32, col: u32, cols: u32) -> f32 {
  return q_scale(q_block(row, col, cols));
}

fn weight4_unscaled(row: u32, col: u32, cols: u32) -> vec4<f32> {
  let i = q_word(row, col, cols);
  return q8x4(w_data[i >> 2u][i & 3u]);
}

fn weight4(row: u32, col: u32, cols: u32) -> vec4<f32> {
  return weight4_unscaled(row, col, cols) * block_scale(row, col, cols);
}

fn weight1(row: u32, col: u32, cols: u32) -> f32 {
  let i = q_word(row, col, cols);
  let q = bitcast<i32>(w_data[i >> 2u][i & 3u] << (24u - 8u * (col & 3u))) >> 24u;
  return f32(q) * q_scale(q_block(row, col, cols));
}

// Optional group accessors (src/gpu/matvec.ts): the dot products of the 4-column chunk at col of
// group g's 8 rows with xv, unscaled (two vec4 loads), and the group's 8 scales of col's block (one).
fn group_dot4(g: u32, col: u32, cols: u32, xv: vec4<f32>) -> array<f32, 8> {
  let i = (g * (cols >> 2u) + (col >> 2u)) * 2u;
  let a = w_data[i];
  let b = w_data[i + 1u];
  return array<f32, 8>(dot(q8x4(a.x), xv), dot(q8x4(a.y), xv), dot(q8x4(a.z), xv), dot(q8x4(a.w), xv), dot(q8x4(b.x), xv), dot(q8x4(b.y), xv), dot(q8x4(b.z), xv), dot(q8x4(b.w), xv));
}

fn group_scales(g: u32, col: u32, cols: u32) -> array<f32, 8> {
  let d = w_scales[g * (cols >> 5u) + (col >> 5u)];
  let a = unpack2x16float(d.x);
  let b = unpack2x16float(d.y);
  let c = unpack2x16float(d.z);
  let e = unpack2x16float(d.w);
  return array<f32, 8>(a.x, a.y, b.x, b.y, c.x, c.y, e.x, e.y);
}

// Optional group accessor of the simple matmul (src/gpu/matmul.ts): the 4-column chunk at col of
// group g's 8 rows, unscaled (two vec4 loads; group_scales gives the block's scales).
fn group_weights4(g: u32, col: u32, cols: u32) -> array<vec4<f32>, 8> {
  let i = (g * (cols >> 2u) + (col >> 2u)) * 2u;
  let a = w_data[i];
  let b = w_data[i + 1u];
  return array<vec4<f32>, 8>(q8x4(a.x), q8x4(a.y), q8x4(a.z), q8x4(a.w), q8x4(b.x), q8x4(b.y), q8x4(b.z), q8x4(b.w));
}
