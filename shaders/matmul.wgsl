// Y[t, yOffset + r] (+)= sum_c W[r, c] * X[t, c] for the T tokens of a prefill chunk, for every
// weight format (prepended by a weights_<format>.wgsl; src/gpu/matmul.ts composes it, one dispatch
// per row slice of the weight, yOffset including the slice's first row). T is the step's nTokens
// (StepParams) unless fixedTokens is set; invocations past T or past the rows return.
// Entry points: `simple` (barrier-free, a register tile of 4 tokens x 4 rows per invocation) and `tiled` (workgroup-memory tiles of 32 tokens x 32 rows,
// 4 x 4 outputs per invocation).

// StepParams and MatmulParams are prepended by the wrapper (src/gpu/matmul.ts, from src/gpu/uniforms.ts).

@group(0) @binding(0) var<uniform> p: MatmulParams;
@group(0) @binding(1) var<uniform> step: StepParams;
@group(0) @binding(2) var<storage, read> x: array<f32>;

fn token_count() -> u32 {
  return select(step.nTokens, p.fixedTokens, p.fixedTokens != 0u);
}

fn x4(t: u32, c: u32) -> vec4<f32> {
  let i = p.xOffset + t * p.cols + c;
  return vec4<f32>(x[i], x[i + 1u], x[i + 2u], x[i + 3u]);
}

fn x1(t: u32, c: u32) -> f32 {
  return x[p.xOffset + t * p.cols + c];
}

fn store(t: u32, row: u32, v: f32) {
  store_out(t, row, v);
}

// ---- simple -------------------------------------------------------------------------------------

// Each invocation computes 4 rows x 4 tokens: a decoded weight chunk serves 4 tokens and an input
// chunk 4 rows (2.4x faster on lavapipe than 1 row x 4 tokens, and faster than `tiled` there).
@compute @workgroup_size(64)
fn simple(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row0 = ((wg.z * p.groupsX + wg.x) * 64u + lid) * 4u;
  let t0 = wg.y * 4u;
  let n = token_count();
  if (row0 >= p.rows || t0 >= n) {
    return;
  }
  // Rows and tokens past the last re-read it (no out-of-bounds reads); their sums are not stored.
  let r1 = min(row0 + 1u, p.rows - 1u);
  let r2 = min(row0 + 2u, p.rows - 1u);
  let r3 = min(row0 + 3u, p.rows - 1u);
  let t1 = min(t0 + 1u, n - 1u);
  let t2 = min(t0 + 2u, n - 1u);
  let t3 = min(t0 + 3u, n - 1u);
  // s_i[j]: token t0 + i, row row0 + j.
  var s0 = vec4<f32>();
  var s1 = vec4<f32>();
  var s2 = vec4<f32>();
  var s3 = vec4<f32>();
  if ((p.cols & 3u) == 0u) {
    // a_i: token t0 + i; its column j holds the four running partial sums of row row0 + j.
    var a0 = mat4x4<f32>();
    var a1 = mat4x4<f32>();
    var a2 = mat4x4<f32>();
    var a3 = mat4x4<f32>();
    for (var c = 0u; c < p.cols; c += 4u) {
      let w0 = weight4(row0, c, p.cols);
      let w1 = weight4(r1, c, p.cols);
      let w2 = weight4(r2, c, p.cols);
      let w3 = weight4(r3, c, p.cols);
      let x0 = x4(t0, c);
      let x1v = x4(t1, c);
      let x2 = x4(t2, c);
      let x3 = x4(t3, c);
      a0 += mat4x4<f32>(w0 * x0, w1 * x0, w2 * x0, w3 * x0);
      a1 += mat4x4<f32>(w0 * x1v, w1 * x1v, w2 * x1v, w3 * x1v);
      a2 += mat4x4<f32>(w0 * x2, w1 * x2, w2 * x2, w3 * x2);
      a3 += mat4x4<f32>(w0 * x3, w1 * x3, w2 * x3, w3 * x3);
    }
    let one = vec4<f32>(1.0);
    s0 = one * a0;
    s1 = one * a1;
    s2 = one * a2;
    s3 = one * a3;
  } else {
    for (var c = 0u; c < p.cols; c++) {
      let w = vec4<f32>(weight1(row0, c, p.cols), weight1(r1, c, p.cols), weight1(r2, c, p.cols), weight1(r3, c, p.cols));
      s0 += w * x1(t0, c);
      s1 += w * x1(t1, c);
      s2 += w * x1(t2, c);
      s3 += w * x1(t3, c);
    }
  }
  for (var j = 0u; j < min(4u, p.rows - row0); j++) {
    store(t0, row0 + j, s0[j]);
    if (t0 + 1u < n) { store(t0 + 1u, row0 + j, s1[j]); }
    if (t0 + 2u < n) { store(t0 + 2u, row0 + j, s2[j]); }
    if (t0 + 3u < n) { store(t0 + 3u, row0 + j, s3[j]); }
  }
}

// ---- tiled --------------------------------------------------------------------------------------

const TILE: u32 = 32u;
// Columns per step of the k loop.
const KT: u32 = 32u;
// [k][4 tokens] and [k][4 rows] of the current step, k-major so an invocation reads one vec4 of each.
var<workgroup> xs: array<vec4<f32>, 256>;
var<workgroup> ws: array<vec4<f32>, 256>;

fn w_chunk(row: u32, c: u32) -> vec4<f32> {
  if (row >= p.rows) {
    return vec4<f32>();
  }
  if ((p.cols & 3u) == 0u) {
    if (c >= p.cols) {
      return vec4<f32>();
    }
    return weight4(row, c, p.cols);
  }
  var v = vec4<f32>();
  for (var k = 0u; k < 4u; k++) {
    if (c + k < p.cols) {
      v[k] = weight1(row, c + k, p.cols);
    }
  }
  return v;
}

fn x_chunk(t: u32, c: u32, n: u32) -> vec4<f32> {
  if (t >= n) {
    return vec4<f32>();
  }
  if ((p.cols & 3u) == 0u) {
    if (c >= p.cols) {
      return vec4<f32>();
    }
    return x4(t, c);
  }
  var v = vec4<f32>();
  for (var k = 0u; k < 4u; k++) {
    if (c + k < p.cols) {
      v[k] = x1(t, c + k);
    }
  }
  return v;
}

@compute @workgroup_size(64)
fn tiled(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let rowBase = (wg.z * p.groupsX + wg.x) * TILE;
  let tBase = wg.y * TILE;
  let n = token_count();
  if (rowBase >= p.rows || tBase >= n) {
    return;
  }
  let tq = lid & 7u;
  let rq = lid >> 3u;
  // acc[i][j]: token tBase + 4 tq + i, row rowBase + 4 rq + j.
  var acc0 = vec4<f32>();
  var acc1 = vec4<f32>();
  var acc2 = vec4<f32>();
  var acc3 = vec4<f32>();
  for (var k0 = 0u; k0 < p.cols; k0 += KT) {
    // 32 x 32 of W and of X: 256 vec4 chunks each, 4 per invocation, stored transposed.
    for (var j = 0u; j < 4u; j++) {
      let chunk = lid + j * 64u;
      let e = chunk >> 3u;
      let c = (chunk & 7u) * 4u;
      let wv = w_chunk(rowBase + e, k0 + c);
      let xv = x_chunk(tBase + e, k0 + c, n);
      for (var k = 0u; k < 4u; k++) {
        ws[(c + k) * 8u + (e >> 2u)][e & 3u] = wv[k];
        xs[(c + k) * 8u + (e >> 2u)][e & 3u] = xv[k];
      }
    }
    workgroupBarrier();
    for (var k = 0u; k < KT; k++) {
      let a = xs[k * 8u + tq];
      let b = ws[k * 8u + rq];
      acc0 += a.x * b;
      acc1 += a.y * b;
      acc2 += a.z * b;
      acc3 += a.w * b;
    }
    workgroupBarrier();
  }
  let t0 = tBase + tq * 4u;
  let r0 = rowBase + rq * 4u;
  for (var j = 0u; j < 4u; j++) {
    if (r0 + j < p.rows) {
      if (t0 < n) { store(t0, r0 + j, acc0[j]); }
      if (t0 + 1u < n) { store(t0 + 1u, r0 + j, acc1[j]); }
      if (t0 + 2u < n) { store(t0 + 2u, r0 + j, acc2[j]); }
      if (t0 + 3u < n) { store(t0 + 3u, r0 + j, acc3[j]); }
    }
  }
}
