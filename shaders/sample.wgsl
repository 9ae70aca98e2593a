// The GPU sampler: picks the next token from logits [vocab] following src/cpu/sampler.ts rule by
// rule, writes it to out[outIndex] (the next step's embedding reads it there, the CPU reads it back
// as the one per-token readback) and appends it to the ring of recent context ids.
//
// Entry points, each one workgroup of 256 invocations, dispatched in this order by
// src/gpu/sample.ts (only those the settings need):
//   penalty   repetition penalty, once per distinct id among the last `window` context ids,
//             applied to the logits IN PLACE (x > 0 ? x / penalty : x * penalty). The ring holds
//             the id of position i at ring[i % ringSize]; the context is [0, pos0 + nTokens).
//   argmax    greedy: the largest logit, the lowest id on ties; writes the id.
//   softmax   e[i] = exp(x[i] / temperature - max) into scratch (unnormalized: every rule below is
//             scale-free but top-p, which compares with topP * sum e); clears the thresholds.
//   top_k     tk = the k-th largest e.
//   top_p     tp = the largest t with mass(e >= t) >= topP * sum e.
//   draw      kept = { i : e[i] >= max(tk, tp) } (ties at the threshold kept);
//             r = uniformAt(seed, step) * sum(kept e); the first kept id, ascending, whose running
//             sum exceeds r (256 contiguous chunks: their masses first, then one walk); writes the id.
// top_k/top_p are radix selects on the float's bit pattern (e >= 0, so bit order is value order):
// 6 rounds of 32 buckets (5 bits) over [0, 2^30), each a histogram of counts (top-k) or masses
// (top-p) of the elements inside the current bucket range, 3 barriers a round.
//
// Why several small kernels: barriers cost 10-30x on software adapters, and lavapipe's shader JIT
// time grows much faster than linearly with the size of a kernel that has barriers (one kernel
// doing all of this took ~26 s to compile there). Dispatches within a pass see each other's writes.
// Barriers per token: greedy 2 (+1 with the penalty); full sampling about 45, whatever the vocab.
//
// Arithmetic is f32 where the CPU uses f64: ids agree except when the draw or a threshold falls
// within f32 rounding (~1e-7 relative) of a boundary.
//
// Entry point `uniforms` evaluates uniform_at for test pairs (bit-exactness with the CPU).

// StepParams and Sampling (written by setSampling) and SamplerLayout (fixed at bind time) are prepended by its wrapper (src/gpu/uniforms.ts).

@group(0) @binding(0) var<uniform> s: Sampling;
@group(0) @binding(1) var<uniform> step: StepParams;
@group(0) @binding(2) var<storage, read_write> logits: array<f32>;
@group(0) @binding(3) var<storage, read_write> ring: array<u32>;
@group(0) @binding(4) var<storage, read_write> out: array<u32>;
// [0, vocab): e; then META floats (sum of e, tk, tp, unused); then the per-invocation histograms of
// a radix round, [bucket][invocation].
@group(0) @binding(5) var<storage, read_write> scratch: array<f32>;
@group(0) @binding(6) var<uniform> lay: SamplerLayout;

const WG: u32 = 256u;
const NONE: u32 = 0xffffffffu;
const LOWEST: f32 = -0x1.fffffep+127f;
const META: u32 = 4u;
// Radix select: ROUNDS rounds of BITS bits (BUCKETS buckets) cover [0, 2^30) (e <= 1 < 2^30 bits).
const BUCKETS: u32 = 32u;
const BITS: u32 = 5u;
const ROUNDS: u32 = 6u;
const GROUPS: u32 = WG / BUCKETS;

var<workgroup> red_f: array<f32, WG>;
var<workgroup> red_u: array<u32, WG>;
var<workgroup> red2_f: array<f32, 16>;
var<workgroup> red2_u: array<u32, 16>;
var<workgroup> totals: array<f32, BUCKETS>;

// Loop bounds are written opaque(n): `lay.zero` is always 0, but a bound that is not a
// compile-time constant keeps lavapipe's JIT from unrolling the loop, which made compiling a kernel
// take seconds.
fn opaque(n: u32) -> u32 { return n + lay.zero; }

fn total_at() -> u32 { return lay.vocab; }
fn tk_at() -> u32 { return lay.vocab + 1u; }
fn tp_at() -> u32 { return lay.vocab + 2u; }
fn hist_at() -> u32 { return lay.vocab + META; }

// The PCG hash of src/engine/sampling.ts `uniformAt`: u32 arithmetic wraps as Math.imul does; 24
// bits scaled by 2^-24 (exact in f32).
fn uniform_at(seed: u32, st: u32) -> f32 {
  var x = seed * 747796405u + st * 2891336453u + 1u;
  x = x * 747796405u + 2891336453u;
  let word = ((x >> ((x >> 28u) + 4u)) ^ x) * 277803737u;
  let h = (word >> 22u) ^ word;
  return f32(h >> 8u) * 5.9604644775390625e-8;
}

// The id sampled for position pos0 + nTokens: to the output and into the ring.
fn emit(id: u32) {
  out[lay.outIndex] = id;
  ring[(step.pos0 + step.nTokens) % lay.ringSize] = id;
}

// Workgroup reductions in two barriers: 256 partials, 16 sums of 16, then every invocation combines
// the 16 in the same order (so all get the same value).
fn sum_all(lid: u32, v: f32) -> f32 {
  red_f[lid] = v;
  workgroupBarrier();
  if (lid < 16u) {
    var t = 0.0;
    for (var j = 0u; j < opaque(16u); j++) { t += red_f[lid * 16u + j]; }
    red2_f[lid] = t;
  }
  workgroupBarrier();
  var t = 0.0;
  for (var j = 0u; j < opaque(16u); j++) { t += red2_f[j]; }
  return t;
}

fn max_all(lid: u32, v: f32) -> f32 {
  red_f[lid] = v;
  workgroupBarrier();
  if (lid < 16u) {
    var t = LOWEST;
    for (var j = 0u; j < opaque(16u); j++) { t = max(t, red_f[lid * 16u + j]); }
    red2_f[lid] = t;
  }
  workgroupBarrier();
  var t = LOWEST;
  for (var j = 0u; j < opaque(16u); j++) { t = max(t, red2_f[j]); }
  return t;
}

// (value, id), id == NONE for "no candidate": the larger value, the lower id on ties.
fn better(v: f32, id: u32, bv: f32, bid: u32) -> bool {
  return id != NONE && (bid == NONE || v > bv || (v == bv && id < bid));
}

@compute @workgroup_size(WG)
fn penalty(@builtin(local_invocation_index) lid: u32) {
  // Window entry lid is position len - 1 - lid; it applies the penalty when no more recent entry
  // holds the same id.
  let len = step.pos0 + step.nTokens;
  var id = NONE;
  if (lid < min(s.window, len)) { id = ring[(len - 1u - lid) % lay.ringSize]; }
  red_u[lid] = id;
  workgroupBarrier();
  if (id >= lay.vocab) { return; }
  for (var j = 0u; j < lid; j++) {
    if (red_u[j] == id) { return; }
  }
  let x = logits[id];
  logits[id] = select(x * s.penalty, x / s.penalty, x > 0.0);
}

@compute @workgroup_size(WG)
fn argmax(@builtin(local_invocation_index) lid: u32) {
  // Each invocation scans ids lid, lid + 256, ... in ascending order.
  var bv = LOWEST;
  var bid = NONE;
  for (var i = lid; i < lay.vocab; i += WG) {
    let v = logits[i];
    if (better(v, i, bv, bid)) { bv = v; bid = i; }
  }
  red_f[lid] = bv;
  red_u[lid] = bid;
  workgroupBarrier();
  if (lid < 16u) {
    for (var j = 0u; j < opaque(16u); j++) {
      let k = lid * 16u + j;
      if (better(red_f[k], red_u[k], bv, bid)) { bv = red_f[k]; bid = red_u[k]; }
    }
    red2_f[lid] = bv;
    red2_u[lid] = bid;
  }
  workgroupBarrier();
  if (lid == 0u) {
    for (var j = 0u; j < opaque(16u); j++) {
      if (better(red2_f[j], red2_u[j], bv, bid)) { bv = red2_f[j]; bid = red2_u[j]; }
    }
    emit(bid);
  }
}

@compute @workgroup_size(WG)
fn softmax(@builtin(local_invocation_index) lid: u32) {
  var m = LOWEST;
  for (var i = lid; i < lay.vocab; i += WG) {
    let v = logits[i] / s.temperature;
    scratch[i] = v;
    m = max(m, v);
  }
  m = max_all(lid, m);
  // Each invocation rereads only what it wrote: no storage barrier needed.
  var part = 0.0;
  for (var i = lid; i < lay.vocab; i += WG) {
    let e = exp(scratch[i] - m);
    scratch[i] = e;
    part += e;
  }
  let total = sum_all(lid, part);
  if (lid == 0u) {
    scratch[total_at()] = total;
    scratch[tk_at()] = 0.0;
    scratch[tp_at()] = 0.0;
  }
}

// Largest bit pattern t with f(t) >= goal, where f(t) sums over the ids with e >= t either 1
// (byCount) or e.
fn radix_select(lid: u32, goal: f32, byCount: bool) -> f32 {
  let hist = hist_at();
  var lo = 0u;
  // f(lo + (BUCKETS << shift)): the part of f above the current range.
  var above = 0.0;
  for (var r = 0u; r < opaque(ROUNDS); r++) {
    let shift = BITS * (ROUNDS - 1u - r);
    // This invocation's histogram is its own column of the scratch (a private array would do, but
    // lavapipe miscompiled the dynamically indexed one).
    for (var j = 0u; j < opaque(BUCKETS); j++) { scratch[hist + j * WG + lid] = 0.0; }
    for (var i = lid; i < lay.vocab; i += WG) {
      let e = scratch[i];
      let j = (bitcast<u32>(e) - lo) >> shift;
      if (bitcast<u32>(e) >= lo && j < BUCKETS) { scratch[hist + j * WG + lid] += select(e, 1.0, byCount); }
    }
    storageBarrier();
    // Bucket lid % 32 over the invocations of group lid / 32 (32 each), then over the 8 groups.
    let b = lid % BUCKETS;
    let g = lid / BUCKETS;
    var t = 0.0;
    for (var j = 0u; j < opaque(WG / GROUPS); j++) { t += scratch[hist + b * WG + g * (WG / GROUPS) + j]; }
    red_f[g * BUCKETS + b] = t;
    workgroupBarrier();
    if (lid < BUCKETS) {
      var u = 0.0;
      for (var j = 0u; j < opaque(GROUPS); j++) { u += red_f[j * BUCKETS + lid]; }
      totals[lid] = u;
    }
    workgroupBarrier();
    // Every invocation: f at each bucket's start, from the top down; keep the highest bucket that
    // reaches the goal (the lowest when rounding leaves none: f(lo) >= goal holds in exact math).
    var acc = above;
    var pick = 0u;
    var pickAbove = 0.0;
    var found = false;
    for (var jj = 0u; jj < opaque(BUCKETS); jj++) {
      let j = BUCKETS - 1u - jj;
      let prev = acc;
      acc += totals[j];
      if (!found && acc >= goal) {
        found = true;
        pick = j;
        pickAbove = prev;
      }
    }
    if (!found) { pickAbove = acc - totals[0]; }
    lo += pick << shift;
    above = pickAbove;
  }
  return bitcast<f32>(lo);
}

@compute @workgroup_size(WG)
fn top_k(@builtin(local_invocation_index) lid: u32) {
  let t = radix_select(lid, f32(s.topK), true);
  if (lid == 0u) { scratch[tk_at()] = t; }
}

@compute @workgroup_size(WG)
fn top_p(@builtin(local_invocation_index) lid: u32) {
  let t = radix_select(lid, s.topP * scratch[total_at()], false);
  if (lid == 0u) { scratch[tp_at()] = t; }
}

@compute @workgroup_size(WG)
fn draw(@builtin(local_invocation_index) lid: u32) {
  let vocab = lay.vocab;
  let thr = max(scratch[tk_at()], scratch[tp_at()]);
  let chunk = (vocab + WG - 1u) / WG;
  let begin = min(lid * chunk, vocab);
  let end = min(begin + chunk, vocab);
  var mass = 0.0;
  for (var i = begin; i < end; i++) {
    let e = scratch[i];
    if (e >= thr) { mass += e; }
  }
  red_f[lid] = mass;
  workgroupBarrier();
  if (lid != 0u) { return; }
  var kept = 0.0;
  for (var c = 0u; c < opaque(WG); c++) { kept += red_f[c]; }
  let r = uniform_at(step.seed, step.step) * kept;
  var cum = 0.0;
  var c = 0u;
  for (; c + 1u < opaque(WG); c++) {
    if (cum + red_f[c] > r) { break; }
    cum += red_f[c];
  }
  // Walk from chunk c to the end of the vocabulary (rounding may carry past the chunk); with
  // nothing found, the last kept id, as the CPU does.
  var pick = NONE;
  var last = NONE;
  for (var i = min(c * chunk, vocab); i < vocab; i++) {
    let e = scratch[i];
    if (e < thr) { continue; }
    cum += e;
    last = i;
    if (cum > r) {
      pick = i;
      break;
    }
  }
  if (pick == NONE) { pick = last; }
  if (pick == NONE) {
    for (var i = min(c * chunk, vocab); i > 0u; i--) {
      if (scratch[i - 1u] >= thr) {
        pick = i - 1u;
        break;
      }
    }
  }
  emit(pick);
}

// uniform_at of pairs[i] = (seed, step) into values[i] (test probe).
@group(0) @binding(7) var<storage, read> pairs: array<vec2<u32>>;
@group(0) @binding(8) var<storage, read_write> values: array<f32>;

@compute @workgroup_size(64)
fn uniforms(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= arrayLength(&pairs)) { return; }
  values[gid.x] = uniform_at(pairs[gid.x].x, pairs[gid.x].y);
}
