// llama.cpp Q6_K super-blocks (256 elements in 210 bytes), each padded to 212 bytes = 53 words at
// upload (src/gpu/weights.ts): words 0-31 the low four bits, 32-47 the high two bits, 48-51 the 16
// int8 scales, word 52 the f16 d. In half n (128 elements), quarter k, element l < 32: low bits are
// nibble k >> 1 of byte 64n + 32 (k & 1) + l, high bits are bits 2k, 2k+1 of byte 128 + 32n + l, the
// scale is byte 8n + 2k + l / 16 of the scales. value = d * sc * (q - 32).
// Interface (weight4/weight1 from w_quad in weights_quad.wgsl): see weights_f32.wgsl (cols is a multiple of 256).
@group(0) @binding(8) var<storage, read> w_data: array<u32>;

fn w_quad(i: u32) -> vec4<f32> {
  let b = (i >> 8u) * 53u;
  let e = i & 255u;
  let n = e >> 7u;
  let k = (e >> 5u) & 3u;
  let l = e & 31u;
  let d = unpack2x16float(w_data[b + 52u]).x;
  let lo = w_data[b + n * 16u + (k & 1u) * 8u + (l >> 2u)] >> (4u * (k >> 1u));
  let hi = w_data[b + 32u + n * 8u + (l >> 2u)] >> (2u * k);
  let q = (vec4<u32>(lo, lo >> 8u, lo >> 16u, lo >> 24u) & vec4<u32>(15u)) | ((vec4<u32>(hi, hi >> 8u, hi >> 16u, hi >> 24u) & vec4<u32>(3u)) << vec4<u32>(4u));
  let si = n * 8u + 2u * k + (l >> 4u);
  let sc = f32(bitcast<i32>(w_data[b + 48u + (si >> 2u)] << (24u - 8u * (si & 3u))) >> 24u);
  return d * sc * (vec4<f32>(q) - 32.0);
}
