// llama.cpp Q5_1 blocks as stored (24 bytes = 6 words; src/gpu/weights.ts): word 0 the f16 d and m,
// word 1 the fifth bits (bit e for element e), words 2-5 the nibbles as in Q4_1; value = q * d + m.
// Interface (weight4/weight1 from w_quad in weights_quad.wgsl): see weights_f32.wgsl (cols is a multiple of 32).
@group(0) @binding(8) var<storage, read> w_data: array<u32>;

fn w_quad(i: u32) -> vec4<f32> {
  let b = (i >> 5u) * 6u;
  let e = i & 31u;
  let dm = unpack2x16float(w_data[b]);
  let h = w_data[b + 1u] >> e;
  let w = w_data[b + 2u + ((e & 15u) >> 2u)] >> ((e >> 4u) * 4u);
  let q = (vec4<u32>(w, w >> 8u, w >> 16u, w >> 24u) & vec4<u32>(15u)) | ((vec4<u32>(h, h >> 1u, h >> 2u, h >> 3u) & vec4<u32>(1u)) << vec4<u32>(4u));
  return vec4<f32>(q) * dm.x + dm.y;
}
