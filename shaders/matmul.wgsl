// Y[t, rowOffset + r] (+)= sum_c W[r, c] * X[t, c] for T tokens: the matrix-vector product of
// decoding (T = 1) and the matrix-matrix product of prefill. Prepended by a weights_<format>.wgsl.
// Each invocation produces one row for up to 4 tokens, so a decoded weight is reused 4 times.

struct StepParams { pos0: u32, nTokens: u32, step: u32, seed: u32 }
struct Params { rows: u32, cols: u32, rowOffset: u32, accumulate: u32, xOffset: u32, fixedTokens: u32, yStride: u32, _pad: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<uniform> step: StepParams;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

fn token_count() -> u32 {
  return select(step.nTokens, p.fixedTokens, p.fixedTokens != 0u);
}

fn x4(t: u32, c: u32) -> vec4<f32> {
  let i = p.xOffset + t * p.cols + c;
  return vec4<f32>(x[i], x[i + 1u], x[i + 2u], x[i + 3u]);
}

fn store(t: u32, row: u32, v: f32) {
  let i = t * p.yStride + p.rowOffset + row;
  if (p.accumulate != 0u) { y[i] += v; } else { y[i] = v; }
}

// Dot products of one row with tokens t0..t0+3 over the 4-wide column chunks begin, begin+stride, ...
// Tokens past the last (n - 1) re-read it, since lavapipe crashes on out-of-bounds reads; their sums are never stored.
fn partial(row: u32, t0: u32, n: u32, begin: u32, stride: u32) -> vec4<f32> {
  let t1 = min(t0 + 1u, n - 1u);
  let t2 = min(t0 + 2u, n - 1u);
  let t3 = min(t0 + 3u, n - 1u);
  var a0 = vec4<f32>();
  var a1 = vec4<f32>();
  var a2 = vec4<f32>();
  var a3 = vec4<f32>();
  let whole = p.cols & ~3u;
  for (var c = begin * 4u; c < whole; c += stride * 4u) {
    let w = weight4(row, c, p.cols);
    a0 += w * x4(t0, c);
    a1 += w * x4(t1, c);
    a2 += w * x4(t2, c);
    a3 += w * x4(t3, c);
  }
  let one = vec4<f32>(1.0);
  var sums = vec4<f32>(dot(a0, one), dot(a1, one), dot(a2, one), dot(a3, one));
  if (begin == 0u) {
    for (var c = whole; c < p.cols; c++) {
      let w = weight1(row, c, p.cols);
      let xi = p.xOffset + c;
      sums += w * vec4<f32>(x[xi + t0 * p.cols], x[xi + t1 * p.cols], x[xi + t2 * p.cols], x[xi + t3 * p.cols]);
    }
  }
  return sums;
}

// One row with one token: decoding, where computing 4 token lanes would waste 3/4 of the work.
fn partial1(row: u32, t: u32, begin: u32, stride: u32) -> f32 {
  var a = vec4<f32>();
  let whole = p.cols & ~3u;
  for (var c = begin * 4u; c < whole; c += stride * 4u) { a += weight4(row, c, p.cols) * x4(t, c); }
  var sum = dot(a, vec4<f32>(1.0));
  if (begin == 0u) {
    for (var c = whole; c < p.cols; c++) { sum += weight1(row, c, p.cols) * x[p.xOffset + t * p.cols + c]; }
  }
  return sum;
}

// Barrier-free: one invocation per (row, 4 tokens). Best on software adapters.
@compute @workgroup_size(64)
fn simple(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x;
  let t0 = gid.y * 4u;
  let n = token_count();
  if (row >= p.rows || t0 >= n) { return; }
  if (n - t0 == 1u) {
    store(t0, row, partial1(row, t0, 0u, 1u));
    return;
  }
  let sums = partial(row, t0, n, 0u, 1u);
  for (var k = 0u; k < min(4u, n - t0); k++) {
    store(t0 + k, row, sums[k]);
  }
}

// Workgroup per (row, 4 tokens): 64 invocations split the columns, then a tree reduction.
const WG: u32 = 64u;
var<workgroup> sums: array<vec4<f32>, WG>;

@compute @workgroup_size(WG)
fn tiled(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wg.x + wg.z * 65535u;
  let t0 = wg.y * 4u;
  let n = token_count();
  if (row >= p.rows || t0 >= n) { return; }
  sums[lid] = partial(row, t0, n, lid, WG);
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { sums[lid] += sums[lid + s]; }
    workgroupBarrier();
  }
  if (lid == 0u) {
    for (var k = 0u; k < min(4u, n - t0); k++) { store(t0 + k, row, sums[0][k]); }
  }
}
