// llama.cpp Q8_0, repacked at upload (src/gpu/weights.ts): the int8 quants of each 32-element block
// four per u32 word, the f16 block scales two per word; value = q * d. cols is a multiple of 32, so
// a 4-aligned column never straddles a word or a block. Interface: see weights_f32.wgsl.
@group(0) @binding(8) var<storage, read> w_data: array<u32>;
@group(0) @binding(9) var<storage, read> w_scales: array<u32>;

fn q_scale(block: u32) -> f32 {
  let pair = unpack2x16float(w_scales[block >> 1u]);
  return select(pair.x, pair.y, (block & 1u) == 1u);
}

// The four int8 of a word, as f32 (sign-extended by arithmetic shifts: core WGSL everywhere).
fn q8x4(w: u32) -> vec4<f32> {
  let q = vec4<i32>(bitcast<i32>(w << 24u), bitcast<i32>(w << 16u), bitcast<i32>(w << 8u), bitcast<i32>(w)) >> vec4<u32>(24u);
  return vec4<f32>(q);
}

// The block's scale, and the chunk's quants unscaled (matvec applies the scale once per block).
fn block_scale(row: u32, col: u32, cols: u32) -> f32 {
  return q_scale((row * cols + col) >> 5u);
}

fn weight4_unscaled(row: u32, col: u32, cols: u32) -> vec4<f32> {
  return q8x4(w_data[(row * cols + col) >> 2u]);
}

fn weight4(row: u32, col: u32, cols: u32) -> vec4<f32> {
  return weight4_unscaled(row, col, cols) * block_scale(row, col, cols);
}

fn weight1(row: u32, col: u32, cols: u32) -> f32 {
  let i = row * cols + col;
  let q = bitcast<i32>(w_data[i >> 2u] << (24u - 8u * (i & 3u))) >> 24u;
  return f32(q) * q_scale(i >> 5u);
}
