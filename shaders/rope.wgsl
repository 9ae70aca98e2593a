// Rotary embedding: the angle and its sin/cos, used by kv_append.wgsl, which rotates the step's q and k
// (token t at position pos0 + t; pairs (i, i + d/2) in the rotate-half layout, (2i, 2i+1) interleaved).
//
// The angle is f32(pos) * invFreq[i]: a correctly rounded f32 product (WGSL), so bit for bit the
// angle of the CPU reference (Math.fround(pos * invFreq[i])) and of the f32 reference
// implementations (llama2.c, transformers), for every position below 2^24. invFreq is
// `ropeInvFreq` (Llama-3 scaling included) computed once on the CPU and uploaded.
//
// cos/sin are not WGSL's builtins: their accuracy is only promised inside [-pi, pi] (2^-11
// absolute) and real implementations lose digits on large arguments (angles reach the position,
// 4096 and far beyond). Instead: a Cody-Waite reduction by pi/2 with pi/2 split in five parts (four
// of 4 significant bits, so n * part is exact for n < 2^20, i.e. angles up to ~1.6e6 rad), then the
// Cephes minimax polynomials of sinf/cosf on [-pi/4, pi/4]. Every product of the reduction is exact,
// so a compiler fusing multiply-adds changes nothing. Error vs Math.cos/Math.sin of the same angle:
// at most 2.2 * 2^-24 (simulated for every position < 2^17 and every 7th one < 2^20, measured on
// the GPU in test/gpu-node/rope.test.ts), the same on every adapter.

const TWO_OVER_PI: f32 = 0.636619747;
// pi/2 = PIO2_1 + ... + PIO2_5 (the first four have 4 significant bits).
const PIO2_1: f32 = 1.5;
const PIO2_2: f32 = 0.0703125;
const PIO2_3: f32 = 0.000457763671875;
const PIO2_4: f32 = 0.0000247955322265625;
const PIO2_5: f32 = 0.00000126759085;

// (sin a, cos a) for a >= 0.
fn sincos(a: f32) -> vec2<f32> {
  let n = round(a * TWO_OVER_PI);
  var y = a - n * PIO2_1;
  y = y - n * PIO2_2;
  y = y - n * PIO2_3;
  y = y - n * PIO2_4;
  y = y - n * PIO2_5;
  let z = y * y;
  let s = y + y * z * (-0.166666552 + z * (0.00833216123 + z * -0.000195152956));
  let c = (1.0 - 0.5 * z) + z * z * (0.0416666456 + z * (-0.00138873165 + z * 0.0000244331568));
  switch (u32(i32(n)) & 3u) {
    case 0u: { return vec2<f32>(s, c); }
    case 1u: { return vec2<f32>(c, -s); }
    case 2u: { return vec2<f32>(-s, -c); }
    default: { return vec2<f32>(-c, s); }
  }
}

// The two elements of a head vector that pair i rotates (ROPE_INTERLEAVED comes from the prelude).
fn rope_pairs(i: u32, half: u32) -> vec2<u32> {
  if (ROPE_INTERLEAVED) { return vec2<u32>(2u * i, 2u * i + 1u); }
  return vec2<u32>(i, i + half);
}
