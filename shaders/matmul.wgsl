// Y[t, yOffset + r] (+)= sum_c W[r, c] * X[t, c] for the T tokens of a prefill chunk, for every
// weight format (prepended by a weights_<format>.wgsl; src/gpu/matmul.ts composes it, one dispatch
// per row slice of the weight, yOffset including the slice's first row). T is the step's nTokens
// (StepParams) unless fixedTokens is set; invocations past T or past the rows return.
// Entry points: `simple` (barrier-free, a register tile of MM_ROWS rows x MM_TOKENS tokens per
// invocation) and `tiled` (workgroup-memory tiles of 32 tokens x 32 rows, 4 x 4 outputs per invocation).

// StepParams and MatmulParams are prepended by the wrapper (src/gpu/matmul.ts, from src/gpu/uniforms.ts).

@group(0) @binding(0) var<uniform> p: MatmulParams;
@group(0) @binding(1) var<uniform> step: StepParams;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read> x_vec4: array<vec4<f32>>;

fn token_count() -> u32 {
  return select(step.nTokens, p.fixedTokens, p.fixedTokens != 0u);
}

fn x4(t: u32, c: u32) -> vec4<f32> {
  let i = p.xOffset + t * p.cols + c;
  return vec4<f32>(x[i], x[i + 1u], x[i + 2u], x[i + 3u]);
}

// x[i .. i + 4) for a multiple of 4 columns: one vec4 load through binding 4 (x again, bound for
// `simple`) when xOffset is a multiple of 4 too (the wrapper's constant X_VEC4), else four.
fn x_at4(i: u32) -> vec4<f32> {
  if (X_VEC4) {
    return x_vec4[i >> 2u];
  }
  return vec4<f32>(x[i], x[i + 1u], x[i + 2u], x[i + 3u]);
}

fn x1(t: u32, c: u32) -> f32 {
  return x[p.xOffset + t * p.cols + c];
}

fn store(t: u32, row: u32, v: f32) {
  store_out(t, row, v);
}

// ---- simple -------------------------------------------------------------------------------------

// Each invocation computes a register tile of MM_ROWS rows x MM_TOKENS tokens (constants the wrapper
// prepends, SIMPLE_TILE in src/gpu/matmul.ts: constant loop bounds keep the tile in registers).
// Software adapters turn each load into per-lane scalar code, so loads per multiply-add set the
// speed: a weight chunk loaded and decoded once serves MM_TOKENS tokens, and an x chunk (one vec4
// load) MM_ROWS rows.
@compute @workgroup_size(MM_WG)
fn simple(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row0 = ((wg.z * p.groupsX + wg.x) * MM_WG + lid) * MM_ROWS;
  let t0 = wg.y * MM_TOKENS;
  let n = token_count();
  if (row0 >= p.rows || t0 >= n) {
    return;
  }
  if ((p.cols & 3u) != 0u) {
    // Odd widths (unquantized formats only; real models have none): one output at a time, in a
    // loop the compiler keeps rolled (the tile's code below is unrolled once, not twice).
    for (var e = 0u; e < MM_ROWS * MM_TOKENS; e++) {
      let row = row0 + e / MM_TOKENS;
      let t = t0 + e % MM_TOKENS;
      if (row < p.rows && t < n) {
        var acc = 0.0;
        for (var c = 0u; c < p.cols; c++) { acc += weight1(row, c, p.cols) * x1(t, c); }
        store(t, row, acc);
      }
    }
    return;
  }
  // Rows and tokens past the last re-read it (no out-of-bounds reads); their sums are not stored.
  var r: array<u32, MM_ROWS>;
  for (var j = 0u; j < MM_ROWS; j++) { r[j] = min(row0 + j, p.rows - 1u); }
  var xt: array<u32, MM_TOKENS>;
  for (var i = 0u; i < MM_TOKENS; i++) { xt[i] = p.xOffset + min(t0 + i, n - 1u) * p.cols; }
  // s[j * MM_TOKENS + i]: row row0 + j, token t0 + i.
  var s: array<f32, MM_ROWS * MM_TOKENS>;
  // In 32-column blocks (the last one shorter when cols is not a multiple of 32, which only the
  // unquantized formats allow): a block's scale is loaded once per row and folded into the decoded
  // weights (block-quantized formats define block_scale / weight4_unscaled; for the others the
  // wrapper supplies 1 and weight4).
  // GROUPED (a constant of the wrapper): the format stores the tile's 8 rows as one row group
  // (src/gpu/weights.ts, the last one zero-padded) and reads a chunk of all of them, and a block's 8
  // scales, in wide loads (group_weights4 / group_scales).
  let g = row0 >> 3u;
  for (var b = 0u; b < p.cols; b += 32u) {
    var d: array<f32, MM_ROWS>;
    if (GROUPED) {
      let gd = group_scales(g, b, p.cols);
      for (var j = 0u; j < MM_ROWS; j++) { d[j] = gd[j]; }
    } else {
      for (var j = 0u; j < MM_ROWS; j++) { d[j] = block_scale(r[j], b, p.cols); }
    }
    for (var k = b; k < min(b + 32u, p.cols); k += 4u) {
      var w: array<vec4<f32>, MM_ROWS>;
      if (GROUPED) {
        let gw = group_weights4(g, k, p.cols);
        for (var j = 0u; j < MM_ROWS; j++) { w[j] = gw[j] * d[j]; }
      } else {
        for (var j = 0u; j < MM_ROWS; j++) { w[j] = weight4_unscaled(r[j], k, p.cols) * d[j]; }
      }
      for (var i = 0u; i < MM_TOKENS; i++) {
        let xv = x_at4(xt[i] + k);
        for (var j = 0u; j < MM_ROWS; j++) { s[j * MM_TOKENS + i] += dot(w[j], xv); }
      }
    }
  }
  for (var j = 0u; j < MM_ROWS; j++) {
    for (var i = 0u; i < MM_TOKENS; i++) {
      if (row0 + j < p.rows && t0 + i < n) { store(t0 + i, row0 + j, s[j * MM_TOKENS + i]); }
    }
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
