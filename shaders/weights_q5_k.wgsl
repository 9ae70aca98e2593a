// llama.cpp Q5_K super-blocks as stored (256 elements in 176 bytes = 44 words; src/gpu/weights.ts):
// as Q4_K (weights_q4_k.wgsl) with the fifth bits in words 4-11 (element 64g + 32s + l: bit 2g + s of
// byte l) and the nibbles in words 12-43. value = d * sc * q - dmin * m.
// Interface (weight4/weight1 from w_quad in weights_quad.wgsl): see weights_f32.wgsl (cols is a multiple of 256).
@group(0) @binding(8) var<storage, read> w_data: array<u32>;

fn w_quad(i: u32) -> vec4<f32> {
  let b = (i >> 8u) * 44u;
  let e = i & 255u;
  let g = e >> 6u;
  let s = (e >> 5u) & 1u;
  let dm = unpack2x16float(w_data[b]);
  let sm = k_scale_min(b + 1u, 2u * g + s);
  let w = w_data[b + 12u + g * 8u + ((e & 31u) >> 2u)] >> (4u * s);
  let h = w_data[b + 4u + ((e & 31u) >> 2u)] >> (2u * g + s);
  let q = (vec4<u32>(w, w >> 8u, w >> 16u, w >> 24u) & vec4<u32>(15u)) | ((vec4<u32>(h, h >> 8u, h >> 16u, h >> 24u) & vec4<u32>(1u)) << vec4<u32>(4u));
  return dm.x * sm.x * vec4<f32>(q) - dm.y * sm.y;
}
