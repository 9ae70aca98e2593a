// y[yOffset + r] (+)= sum_c W[r, c] * x[xOffset + c]: the matrix-vector product of decoding, for
// every weight format (prepended by a weights_<format>.wgsl; src/gpu/matvec.ts composes it, one
// dispatch per row slice of the weight, yOffset including the slice's first row).
// Entry points: `simple` (4 rows per invocation, no barriers: software adapters) and `tiled`
// (a workgroup per row; `row_sum`, the workgroup reduction, is supplied by the wrapper: subgroupAdd
// when the device has subgroups, else a workgroup-memory tree).

struct MatvecParams {
  rows: u32,
  cols: u32,
  xOffset: u32,
  yOffset: u32,
  accumulate: u32,
  // Workgroups along x of a 2-D dispatch (more than 65535 groups wrap into y).
  groupsX: u32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: MatvecParams;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

fn x4(c: u32) -> vec4<f32> {
  let i = p.xOffset + c;
  return vec4<f32>(x[i], x[i + 1u], x[i + 2u], x[i + 3u]);
}

// Partial dot product of `row` with x over the columns lane, lane + lanes, ... (in vec4 chunks when
// cols % 4 == 0, else element by element: odd widths of packed halves use flat indexing).
fn row_partial(row: u32, lane: u32, lanes: u32) -> f32 {
  if ((p.cols & 3u) == 0u) {
    var a = vec4<f32>();
    for (var c = lane * 4u; c < p.cols; c += lanes * 4u) {
      a += weight4(row, c, p.cols) * x4(c);
    }
    return (a.x + a.y) + (a.z + a.w);
  }
  var s = 0.0;
  for (var c = lane; c < p.cols; c += lanes) {
    s += weight1(row, c, p.cols) * x[p.xOffset + c];
  }
  return s;
}

fn store(row: u32, v: f32) {
  let i = p.yOffset + row;
  if (p.accumulate != 0u) {
    y[i] += v;
  } else {
    y[i] = v;
  }
}

// Barrier-free: each invocation computes 4 consecutive rows, so every x chunk it loads serves four
// weight chunks (1.3-2x faster on lavapipe than one row per invocation).
const SIMPLE_ROWS: u32 = 4u;

@compute @workgroup_size(64)
fn simple(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row0 = ((wg.y * p.groupsX + wg.x) * 64u + lid) * SIMPLE_ROWS;
  if (row0 >= p.rows) {
    return;
  }
  // Rows past the last re-read it (no out-of-bounds reads); their sums are not stored.
  let r1 = min(row0 + 1u, p.rows - 1u);
  let r2 = min(row0 + 2u, p.rows - 1u);
  let r3 = min(row0 + 3u, p.rows - 1u);
  var s = vec4<f32>();
  if ((p.cols & 3u) == 0u) {
    // Column j of `a` holds the four running partial sums of row row0 + j.
    var a = mat4x4<f32>();
    for (var c = 0u; c < p.cols; c += 4u) {
      let xv = x4(c);
      a += mat4x4<f32>(weight4(row0, c, p.cols) * xv, weight4(r1, c, p.cols) * xv, weight4(r2, c, p.cols) * xv, weight4(r3, c, p.cols) * xv);
    }
    s = vec4<f32>(1.0) * a;
  } else {
    for (var c = 0u; c < p.cols; c++) {
      s += vec4<f32>(weight1(row0, c, p.cols), weight1(r1, c, p.cols), weight1(r2, c, p.cols), weight1(r3, c, p.cols)) * x[p.xOffset + c];
    }
  }
  for (var j = 0u; j < min(SIMPLE_ROWS, p.rows - row0); j++) {
    store(row0 + j, s[j]);
  }
}

const WG: u32 = 64u;

@compute @workgroup_size(WG)
fn tiled(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wg.y * p.groupsX + wg.x;
  if (row >= p.rows) {
    return;
  }
  let s = row_sum(row_partial(row, lid, WG), lid);
  if (lid == 0u) {
    store(row, s);
  }
}
