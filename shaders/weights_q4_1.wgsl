// llama.cpp Q4_1 blocks as stored (20 bytes = 5 words; src/gpu/weights.ts): word 0 the f16 d and m,
// words 1-4 the 16 nibble bytes (element e < 16 is the low nibble of byte e, e >= 16 the high nibble
// of byte e - 16); value = q * d + m. Interface (weight4/weight1 from w_quad in weights_quad.wgsl): see weights_f32.wgsl (cols is a multiple of 32).
@group(0) @binding(8) var<storage, read> w_data: array<u32>;

// Elements i..i+3 of the flat matrix (i % 4 == 0: one word of nibbles).
fn w_quad(i: u32) -> vec4<f32> {
  let b = (i >> 5u) * 5u;
  let e = i & 31u;
  let dm = unpack2x16float(w_data[b]);
  let w = w_data[b + 1u + ((e & 15u) >> 2u)] >> ((e >> 4u) * 4u);
  let q = vec4<u32>(w, w >> 8u, w >> 16u, w >> 24u) & vec4<u32>(15u);
  return vec4<f32>(q) * dm.x + dm.y;
}
