// out[t] = weight * (x[t] / sqrt(mean(x[t]^2) + eps)) for the step's T rows, or for its last row
// only (lastOnly: the final norm before the LM head when only the next token is wanted). The weight
// is f32 (norm weights are tiny: always uploaded as f32). out must not alias x.
//
// Entry points: `simple` (one invocation per row, no barriers, no workgroup memory: software
// adapters) and `tiled` (a 64-invocation workgroup per row, tree reduction in workgroup memory).
// Sums of squares are f32 with several partial sums (4 per row in `simple`, 64 in `tiled`), which
// keeps the rounding error of long rows small; the CPU reference accumulates in f64.

// StepParams and this kernel's uniform structs are prepended by its wrapper (src/gpu/uniforms.ts).

@group(0) @binding(0) var<uniform> p: RmsNormParams;
@group(0) @binding(1) var<uniform> step: StepParams;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> weight: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

// (first input row, number of rows) of this step.
fn rows() -> vec2<u32> {
  return select(vec2<u32>(0u, step.nTokens), vec2<u32>(step.nTokens - 1u, 1u), p.lastOnly != 0u);
}

fn scale_of(ss: f32) -> f32 {
  return inverseSqrt(ss / f32(p.width) + p.eps);
}

@compute @workgroup_size(64)
fn simple(@builtin(global_invocation_id) gid: vec3<u32>) {
  let r = gid.x;
  if (r >= rows().y) { return; }
  let src = (rows().x + r) * p.width;
  let n4 = p.width & ~3u;
  var acc = vec4<f32>();
  for (var i = 0u; i < n4; i += 4u) {
    let v = vec4<f32>(x[src + i], x[src + i + 1u], x[src + i + 2u], x[src + i + 3u]);
    acc += v * v;
  }
  var ss = (acc.x + acc.y) + (acc.z + acc.w);
  for (var i = n4; i < p.width; i++) { ss += x[src + i] * x[src + i]; }
  let inv = scale_of(ss);
  for (var i = 0u; i < p.width; i++) { out[r * p.width + i] = weight[i] * (inv * x[src + i]); }
}

const WG: u32 = 64u;
var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn tiled(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = wg.x;
  // Uniform per workgroup: the whole workgroup returns or none of it.
  if (r >= rows().y) { return; }
  let src = (rows().x + r) * p.width;
  var ss = 0.0;
  for (var i = lid; i < p.width; i += WG) { ss += x[src + i] * x[src + i]; }
  partial[lid] = ss;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { partial[lid] += partial[lid + s]; }
    workgroupBarrier();
  }
  let inv = scale_of(partial[0]);
  for (var i = lid; i < p.width; i += WG) { out[r * p.width + i] = weight[i] * (inv * x[src + i]); }
}
