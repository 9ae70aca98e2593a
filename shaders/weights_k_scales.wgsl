// Shared by weights_q4_k.wgsl and weights_q5_k.wgsl: the 6-bit scale and min of sub-block j (0-7)
// from a super-block's 12 scale bytes, which start at word `at` of w_data (ggml's get_scale_min_k4).
fn k_scale_byte(at: u32, k: u32) -> u32 {
  return (w_data[at + (k >> 2u)] >> (8u * (k & 3u))) & 255u;
}

fn k_scale_min(at: u32, j: u32) -> vec2<f32> {
  if (j < 4u) {
    return vec2<f32>(f32(k_scale_byte(at, j) & 63u), f32(k_scale_byte(at, j + 4u) & 63u));
  }
  let both = k_scale_byte(at, j + 4u);
  return vec2<f32>(f32((both & 15u) | ((k_scale_byte(at, j - 4u) >> 6u) << 4u)), f32((both >> 4u) | ((k_scale_byte(at, j) >> 6u) << 4u)));
}
