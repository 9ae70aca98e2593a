// y[yOffset + r] (+)= sum_c W[r, c] * x[xOffset + c] (+ b[r]): the matrix-vector product of
// decoding, for every weight format (prepended by a weights_<format>.wgsl; src/gpu/matvec.ts
// composes it, one dispatch per row slice of the weight; outputs as product_out.wgsl says).
// Entry points: `simple` (SIMPLE_ROWS rows per invocation, no barriers: software adapters) and `tiled`
// (real GPUs: a workgroup per group of 8 rows for the row-grouped formats, below; else a workgroup
// per row, `row_sum`, the workgroup reduction, supplied by the wrapper: subgroupAdd when the device
// has subgroups, else a workgroup-memory tree).

// MatvecParams is prepended by the wrapper (src/gpu/matvec.ts, from src/gpu/uniforms.ts).

@group(0) @binding(0) var<uniform> p: MatvecParams;
@group(0) @binding(2) var<storage, read> x: array<f32>;

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
  store_out(0u, row, v);
}

// Barrier-free: each invocation computes SIMPLE_ROWS consecutive rows, so every x chunk it loads
// serves that many weight chunks. The wrapper prepends SIMPLE_ROWS and SIMPLE_WG (the workgroup
// size): constant loop bounds keep the accumulators in registers.
@compute @workgroup_size(SIMPLE_WG)
fn simple(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row0 = ((wg.y * p.groupsX + wg.x) * SIMPLE_WG + lid) * SIMPLE_ROWS;
  if (row0 >= p.rows) {
    return;
  }
  // Rows past the last re-read it (no out-of-bounds reads); their sums are not stored.
  var r: array<u32, SIMPLE_ROWS>;
  for (var j = 0u; j < SIMPLE_ROWS; j++) { r[j] = min(row0 + j, p.rows - 1u); }
  // One f32 accumulator per row (a vec4 per row would take 4x the registers: on an 8-wide CPU
  // SIMD each vec4 lane set is 4 vector registers, and spills cost more than the extra adds).
  var s: array<f32, SIMPLE_ROWS>;
  if (GROUPED && (p.cols & 31u) == 0u) {
    // The format stores these 8 rows as one group (src/gpu/weights.ts) and reads a 4-column chunk
    // of all of them, and a block's 8 scales, in wide loads (group_dot4 / group_scales).
    let g = row0 >> 3u;
    var t: array<f32, SIMPLE_ROWS>;
    for (var b = 0u; b < p.cols; b += 32u) {
      for (var k = 0u; k < 32u; k += 4u) {
        let d = group_dot4(g, b + k, p.cols, x4(b + k));
        for (var j = 0u; j < SIMPLE_ROWS; j++) { t[j] += d[j]; }
      }
      let d = group_scales(g, b, p.cols);
      for (var j = 0u; j < SIMPLE_ROWS; j++) {
        s[j] += t[j] * d[j];
        t[j] = 0.0;
      }
    }
  } else if ((p.cols & 31u) == 0u) {
    // Whole 32-column blocks: a block's scale is loaded once per row (block-quantized formats
    // define block_scale / weight4_unscaled; for the others the wrapper supplies 1 and weight4).
    // (t is zeroed by hand: lavapipe did not re-initialize a var declared in the loop body.)
    var t: array<f32, SIMPLE_ROWS>;
    for (var b = 0u; b < p.cols; b += 32u) {
      for (var k = 0u; k < 32u; k += 4u) {
        let xv = x4(b + k);
        for (var j = 0u; j < SIMPLE_ROWS; j++) { t[j] += dot(weight4_unscaled(r[j], b + k, p.cols), xv); }
      }
      for (var j = 0u; j < SIMPLE_ROWS; j++) {
        s[j] += t[j] * block_scale(r[j], b, p.cols);
        t[j] = 0.0;
      }
    }
  } else if ((p.cols & 3u) == 0u) {
    for (var c = 0u; c < p.cols; c += 4u) {
      let xv = x4(c);
      for (var j = 0u; j < SIMPLE_ROWS; j++) { s[j] += dot(weight4(r[j], c, p.cols), xv); }
    }
  } else {
    for (var c = 0u; c < p.cols; c++) {
      let xc = x[p.xOffset + c];
      for (var j = 0u; j < SIMPLE_ROWS; j++) { s[j] += weight1(r[j], c, p.cols) * xc; }
    }
  }
  if (GLU) {
    // Rows come in (gate, gate, up, up) fours (src/gpu/fused.ts interleavePairs; the wrapper checks
    // the alignment): h = SiLU(gate) * up of two outputs per four, into y. exp as in swiglu.wgsl.
    for (var j = 0u; j < SIMPLE_ROWS; j += 4u) {
      for (var i = 0u; i < 2u; i++) {
        if (row0 + j + i < p.rows) {
          let g = s[j + i];
          y[p.yOffset + ((p.rowStart + row0 + j) >> 1u) + i] = g / (1.0 + exp(-g)) * s[j + i + 2u];
        }
      }
    }
    return;
  }
  for (var j = 0u; j < SIMPLE_ROWS; j++) {
    if (row0 + j < p.rows) { store(row0 + j, s[j]); }
  }
}

const WG: u32 = 64u;

// Row-grouped formats (f16, q8_0: TILED_GROUP, set by the wrapper): a workgroup per group of 8 rows,
// invocation lid on row lid % 8 and the 4-column chunks lid / 8, lid / 8 + 8, ... The layout keeps a
// chunk's 8 rows contiguous, so the 64 invocations read 64 consecutive 8-byte (f16: one vec4<f16> or two
// adjacent packed u32 words) or 4-byte (q8_0) pieces per load: every load of the workgroup is one contiguous stretch.
// Rows past the last read the group's zero padding. The 8 partial sums of a row are added from
// workgroup memory after one barrier (WGSL does not say which invocations share a subgroup, so a
// subgroup reduction could not rely on the row's 8 invocations sharing one).
var<workgroup> lane_partials: array<f32, 64>;

fn tiled_group(g: u32, lid: u32) {
  let row0 = g * 8u;
  let row = row0 + (lid & 7u);
  let lane = lid >> 3u;
  var s = 0.0;
  if ((p.cols & 3u) == 0u) {
    var a = vec4<f32>();
    for (var c = lane * 4u; c < p.cols; c += 32u) {
      a += weight4(row, c, p.cols) * x4(c);
    }
    s = (a.x + a.y) + (a.z + a.w);
  } else {
    for (var c = lane; c < p.cols; c += 8u) {
      s += weight1(row, c, p.cols) * x[p.xOffset + c];
    }
  }
  lane_partials[lid] = s;
  workgroupBarrier();
  if (lid < 8u && row0 + lid < p.rows) {
    var t = 0.0;
    for (var i = 0u; i < 64u; i += 8u) { t += lane_partials[i + lid]; }
    store(row0 + lid, t);
  }
}

@compute @workgroup_size(WG)
fn tiled(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = wg.y * p.groupsX + wg.x;  // the row, or the row group (TILED_GROUP)
  if (TILED_GROUP) {
    if (i * 8u < p.rows) { tiled_group(i, lid); }
    return;
  }
  if (i >= p.rows) {
    return;
  }
  let s = row_sum(row_partial(i, lid, WG), lid);
  if (lid == 0u) {
    store(i, s);
  }
}
