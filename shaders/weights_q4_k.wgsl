// llama.cpp Q4_K super-blocks as stored (256 elements in 144 bytes = 36 words; src/gpu/weights.ts):
// word 0 the f16 d and dmin, words 1-3 the packed 6-bit scales and mins of the 8 sub-blocks of 32
// (weights_k_scales.wgsl, prepended), words 4-35 the nibbles: elements 64g + l (l < 32) are the low
// nibbles of bytes 32g + l, elements 64g + 32 + l their high nibbles. value = d * sc * q - dmin * m.
// Interface (weight4/weight1 from w_quad in weights_quad.wgsl): see weights_f32.wgsl (cols is a multiple of 256).
@group(0) @binding(8) var<storage, read> w_data: array<u32>;

fn w_quad(i: u32) -> vec4<f32> {
  let b = (i >> 8u) * 36u;
  let e = i & 255u;
  let g = e >> 6u;
  let s = (e >> 5u) & 1u;
  let dm = unpack2x16float(w_data[b]);
  let sm = k_scale_min(b + 1u, 2u * g + s);
  let w = w_data[b + 4u + g * 8u + ((e & 31u) >> 2u)] >> (4u * s);
  let q = vec4<u32>(w, w >> 8u, w >> 16u, w >> 24u) & vec4<u32>(15u);
  return dm.x * sm.x * vec4<f32>(q) - dm.y * sm.y;
}
