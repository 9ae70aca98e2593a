// llama.cpp Q4_0, repacked at upload (src/gpu/weights.ts): each block's 16 nibble bytes as one
// vec4<u32>, the f16 block scales two per word. Element e < 16 of a block is the low nibble of byte
// e, element e >= 16 the high nibble of byte e - 16; value = (nibble - 8) * d.
// Interface: see weights_f32.wgsl (cols is a multiple of 32).
@group(0) @binding(8) var<storage, read> w_data: array<vec4<u32>>;
@group(0) @binding(9) var<storage, read> w_scales: array<u32>;

fn q_scale(block: u32) -> f32 {
  let pair = unpack2x16float(w_scales[block >> 1u]);
  return select(pair.x, pair.y, (block & 1u) == 1u);
}

fn weight4(row: u32, col: u32, cols: u32) -> vec4<f32> {
  let i = row * cols + col;
  let block = i >> 5u;
  let e = i & 31u;
  let w = w_data[block][(e & 15u) >> 2u] >> ((e >> 4u) * 4u);
  let q = vec4<u32>(w, w >> 8u, w >> 16u, w >> 24u) & vec4<u32>(15u);
  return (vec4<f32>(q) - 8.0) * q_scale(block);
}

fn weight1(row: u32, col: u32, cols: u32) -> f32 {
  let i = row * cols + col;
  let block = i >> 5u;
  let e = i & 31u;
  let byte = w_data[block][(e & 15u) >> 2u] >> (8u * (e & 3u));
  let q = (byte >> ((e >> 4u) * 4u)) & 15u;
  return (f32(q) - 8.0) * q_scale(block);
}
