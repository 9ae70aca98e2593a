// y = W x with W [rows, cols] f32 row-major, x [cols], y [rows]: one invocation per row, no barriers
// and no workgroup memory (the fast shape on software adapters, see the shared doc's timings).
// Wrapper: src/gpu/matvec_f32.ts (explicit bind group layout, dispatch sizes).
//
// Two entry points share the bindings; each statically uses only one view of W and x, so the
// aliased declarations below (same group/binding, different element type) are valid:
// - `matvec_vec4`   when cols % 4 == 0: rows start on 16-byte boundaries, W and x read as vec4;
// - `matvec_scalar` otherwise: four scalar loads per step gathered into a vec4, then a scalar tail.
// Workgroups of 64 along rows; more than 65535 groups wrap into a 2-D dispatch of p.groupsX columns.

struct Params {
  rows: u32,
  cols: u32,
  groupsX: u32,
  _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> w4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> w1: array<f32>;
@group(0) @binding(2) var<storage, read> x1: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

const WG: u32 = 64u;

fn row_of(wg: vec3<u32>, lid: u32) -> u32 {
  return (wg.y * p.groupsX + wg.x) * WG + lid;
}

@compute @workgroup_size(WG)
fn matvec_vec4(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = row_of(wg, lid);
  if (row >= p.rows) {
    return;
  }
  let n4 = p.cols >> 2u;
  let base = row * n4;
  var acc = vec4<f32>();
  for (var c = 0u; c < n4; c++) {
    acc += w4[base + c] * x4[c];
  }
  y[row] = (acc.x + acc.y) + (acc.z + acc.w);
}

@compute @workgroup_size(WG)
fn matvec_scalar(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = row_of(wg, lid);
  if (row >= p.rows) {
    return;
  }
  let base = row * p.cols;
  let body = p.cols & ~3u;
  var acc = vec4<f32>();
  for (var c = 0u; c < body; c += 4u) {
    let i = base + c;
    acc += vec4<f32>(w1[i], w1[i + 1u], w1[i + 2u], w1[i + 3u]) * vec4<f32>(x1[c], x1[c + 1u], x1[c + 2u], x1[c + 3u]);
  }
  var s = (acc.x + acc.y) + (acc.z + acc.w);
  for (var c = body; c < p.cols; c++) {
    s += w1[base + c] * x1[c];
  }
  y[row] = s;
}
