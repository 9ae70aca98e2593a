// out[t] = weight * x[t] / sqrt(mean(x[t]^2) + eps) for the step's T rows, or for its last row only
// (lastOnly: the final norm before the LM head when only the next token is wanted).

struct StepParams { pos0: u32, nTokens: u32, step: u32, seed: u32 }
struct Params { width: u32, eps: f32, lastOnly: u32, _a: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<uniform> step: StepParams;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> weight: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

fn rows() -> vec2<u32> {
  // (first input row, number of rows)
  return select(vec2<u32>(0u, step.nTokens), vec2<u32>(step.nTokens - 1u, 1u), p.lastOnly != 0u);
}

fn write_row(r: u32, inv: f32) {
  let src = (rows().x + r) * p.width;
  for (var i = 0u; i < p.width; i++) { out[r * p.width + i] = weight[i] * (inv * x[src + i]); }
}

// Barrier-free: one invocation per row.
@compute @workgroup_size(64)
fn simple(@builtin(global_invocation_id) gid: vec3<u32>) {
  let r = gid.x;
  if (r >= rows().y) { return; }
  let src = (rows().x + r) * p.width;
  var ss = 0.0;
  for (var i = 0u; i < p.width; i++) { ss += x[src + i] * x[src + i]; }
  write_row(r, inverseSqrt(ss / f32(p.width) + p.eps));
}

const WG: u32 = 64u;
var<workgroup> partial: array<f32, WG>;

// Workgroup per row: a tree reduction of the sum of squares.
@compute @workgroup_size(WG)
fn tiled(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = wg.x;
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
  let inv = inverseSqrt(partial[0] / f32(p.width) + p.eps);
  for (var i = lid; i < p.width; i += WG) { out[r * p.width + i] = weight[i] * (inv * x[src + i]); }
}
