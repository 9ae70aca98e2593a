// llama.cpp Q5_0 blocks, each moved 2 bytes in at upload to a 24-byte slot (src/gpu/weights.ts) so
// its words align: word 0 holds the f16 d in its high half, word 1 the fifth bits (bit e for element
// e), words 2-5 the nibbles as in Q4_0; value = (q - 16) * d. Interface: see weights_f32.wgsl.
@group(0) @binding(8) var<storage, read> w_data: array<u32>;

// Elements i..i+3 (i % 4 == 0) as q - 16, before the block's scale d.
fn w_quad_unscaled(i: u32) -> vec4<f32> {
  let b = (i >> 5u) * 6u;
  let e = i & 31u;
  let h = w_data[b + 1u] >> e;
  let w = w_data[b + 2u + ((e & 15u) >> 2u)] >> ((e >> 4u) * 4u);
  let q = (vec4<u32>(w, w >> 8u, w >> 16u, w >> 24u) & vec4<u32>(15u)) | ((vec4<u32>(h, h >> 1u, h >> 2u, h >> 3u) & vec4<u32>(1u)) << vec4<u32>(4u));
  return vec4<f32>(q) - 16.0;
}

fn q_scale(i: u32) -> f32 {
  return unpack2x16float(w_data[(i >> 5u) * 6u]).y;
}

// The block's scale, and the chunk's values unscaled (matvec applies the scale once per block).
fn block_scale(row: u32, col: u32, cols: u32) -> f32 {
  return q_scale(row * cols + col);
}

fn weight4_unscaled(row: u32, col: u32, cols: u32) -> vec4<f32> {
  return w_quad_unscaled(row * cols + col);
}

fn weight4(row: u32, col: u32, cols: u32) -> vec4<f32> {
  let i = row * cols + col;
  return w_quad_unscaled(i) * q_scale(i);
}

fn weight1(row: u32, col: u32, cols: u32) -> f32 {
  let i = row * cols + col;
  return w_quad_unscaled(i & ~3u)[i & 3u] * q_scale(i);
}
