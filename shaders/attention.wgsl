// Attention of the step's queries q [T, numHeads, headDim] (post-RoPE) over one layer's paged cache
// (src/gpu/kv-cache.ts), output [T, numHeads, headDim], with GQA: each KV head is read once for its
// whole group of `group` = numHeads / numKvHeads query heads (K/V are never expanded per query head).
// A key is visible to the query at position qp = pos0 + t iff its slot is live (pos >= 0),
// pos <= qp and, with a sliding window W, pos > qp - W. Logits are scaled by 1/sqrt(headDim).
// Every call adds to each slot's cumulative score the probability it received, summed over the
// group's heads and the call's queries (and, with `colsum`, per query head to colsums[head][slot]).
//
// The wrapper prepends `const GROUP: u32` (query heads per kv head), `const GROUP_CAP: u32` (GROUP
// rounded up to a power of two: it sizes the tiled variant's workgroup arrays), `const HEAD_DIM_CAP:
// u32` (the head dim), `const HD4: u32` (head dim / 4) and `const SPAN_GROUP: u32` (decode_spans'
// workgroup size). The per-invocation vectors of the simple kernels loop over the constants GROUP
// and HD4, so that LLVM unrolls them into registers; the tiled kernels loop to uniform sizes, as
// constant trip counts there made the first dispatch of tiled_partial take ~30 s to compile on
// lavapipe. q, out and the pools are bound as vec4 (headDim % 4 == 0).
// Threads read each head's live numSlots from meta and skip free slots; dispatch sizes come from
// the CPU's high-water mark (an upper bound of every head's numSlots).
//
// simple (barrier-free, no workgroup memory: software adapters)
//   decode (T == 1):
//     decode_spans    one invocation per (span of p.chunkSlots slots, kv head) (flash decoding):
//                     the group's logits -> scratch, then the span's unnormalised output, max and
//                     sum of exps per head -> the partials (K and V read once for the group)
//     decode_merge[_colsum]  one per (kv head, 4 dims): merges the spans, writes out and stats,
//                     then score (and colsum) += the group's p, one exp per slot and head
//   prefill (T > 1):
//     prefill_flash   one per (token, query head), a workgroup's invocations all of one kv head so
//                     K/V loads are uniform: online softmax over the slots (flash-attention style,
//                     no [T x slots] matrix), writes out and the row's (max, 1/sum) to stats
//     accumulate_prefill[_colsum]  one per (kv head, slot): recomputes each p from the saved row
//                     max and sum, score += sum over the call's tokens and the group
// tiled (workgroup memory: real GPUs)
//   tiled_partial   one 64-thread workgroup per (slot chunk of 256, kv head, token) (split-K): the
//                   group's queries in workgroup memory, tiles of 64 slots (one thread per slot for
//                   the logits, one per dim for P.V, K and V read once for the group), a running
//                   max/sum per head; writes the chunk's unnormalised output and (max, sum). With
//                   T == 1 it also keeps the logits for the scores.
//   tiled_combine   one workgroup per (kv head, token): merges the group's chunks, writes out and
//                   stats; then accumulate_prefill (T > 1)
//   tiled_combine_decode[_colsum]  (T == 1) the same merge, then score (and colsum) += the group's
//                   p from the kept logits: 2 dispatches per decode step

// StepParams, KvLayout and AttentionParams are prepended by the wrapper (src/gpu/uniforms.ts), the
// addressing by paged_kv.wgsl.

@group(0) @binding(0) var<uniform> p: AttentionParams;
@group(0) @binding(1) var<uniform> step: StepParams;
@group(0) @binding(2) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4<f32>>;
// The pools' storage (f32 or f16) comes from the kv_<dtype>.wgsl the wrapper puts first.
@group(0) @binding(4) var<storage, read> kPool: array<KvVec4>;
@group(0) @binding(5) var<storage, read> vPool: array<KvVec4>;
@group(0) @binding(6) var<storage, read> index: array<u32>;
@group(0) @binding(7) var<storage, read_write> score: array<f32>;
// [numHeads][maxSlots] decode logits, then from partialOffset the tiled partials
// [T][numHeads][numChunks][headDim + 2] (output, max, sum).
@group(0) @binding(8) var<storage, read_write> scratch: array<f32>;
// [T][numHeads]: (row max, 1 / row sum)
@group(0) @binding(9) var<storage, read_write> stats: array<vec2<f32>>;
@group(0) @binding(10) var<storage, read_write> colsums: array<f32>;
@group(0) @binding(11) var<uniform> kv: KvLayout;

const NEG_INF: f32 = -3.0e38;
const NONE: u32 = 0xffffffffu;
const TILE: u32 = 64u;
const CHUNK: u32 = 256u;
const DPT_CAP: u32 = (HEAD_DIM_CAP + TILE - 1u) / TILE;
const HD4_CAP: u32 = HEAD_DIM_CAP / 4u;

fn num_slots(h: u32) -> u32 {
  return min(index[2u * h], kv.maxSlots);
}

// In vec4s: q, out and the pools are read 4 floats at a time (headDim % 4 == 0).
fn slot_base(h: u32, slot: u32) -> u32 {
  return kv_pool_slot(h, slot) * p.hd4;
}

fn visible(pos: i32, qp: i32) -> bool {
  return pos >= 0 && pos <= qp && (p.window == 0u || pos > qp - i32(p.window));
}

// (scale q).k: the same operations in every entry point, so recomputed logits match.
fn dot_qk(qb: u32, kb: u32) -> f32 {
  var acc = 0.0;
  for (var i = 0u; i < p.hd4; i++) { acc += dot(q[qb + i] * p.scale, kv_vec4(kPool[kb + i])); }
  return acc;
}

fn logit_at(head: u32, slot: u32) -> u32 {
  return head * kv.maxSlots + slot;
}

// A chunk's partial in scratch: unnormalised output [headDim], then its max and its sum of exps.
fn partial_at(t: u32, head: u32, chunk: u32) -> u32 {
  return p.partialOffset + ((t * p.numHeads + head) * p.numChunks + chunk) * (kv.headDim + 2u);
}

// ---- simple decode -------------------------------------------------------------------------
// Flash decoding over spans of p.chunkSlots slots, in two dispatches.
// decode_spans: one invocation per (span, kv head) walks its span twice: the keys (the group's
// logits to scratch, for the scores, and each head's max), then the values weighted by
// exp(logit - span max); each key and value is read once for the whole group, and the group's
// scaled queries and partial outputs stay in registers (GROUP and HD4 are constants, so the loops
// unroll). It writes per (head, span) the unnormalised output, the max and the sum of exps.
// decode_merge: one invocation per (4 dims, kv head) merges the spans (one exp per span and head),
// writes out and stats, then adds the probabilities to the scores, slot s by invocation s % HD4,
// so that every exp of the step is taken once. (With one invocation per slot for the logits and
// each of the merge's invocations redoing the group's softmax, the exps were taken HD4 times and
// the values were read by HD4 invocations per kv head only: ~2-3x slower at 8,192 slots.)

// Advances (page of the head's page table, slot within it) by one slot.
fn next_slot(page: ptr<function, u32>, off: ptr<function, u32>) {
  *off += 1u;
  if (*off == kv.pageSize) {
    *page += 1u;
    *off = 0u;
  }
}

@compute @workgroup_size(SPAN_GROUP)
fn decode_spans(@builtin(global_invocation_id) gid: vec3<u32>) {
  let span = gid.x;
  let h = gid.y;
  if (h >= kv.numKvHeads) { return; }
  let start = span * p.chunkSlots;
  let end = min(start + p.chunkSlots, num_slots(h));
  if (start >= end) { return; }
  let head0 = h * GROUP;
  let qp = i32(step.pos0);
  var qs: array<vec4<f32>, GROUP * HD4>;
  // The queries' load and the partials' store loop to a uniform bound: unrolled (constant bound),
  // they took 2-3x longer to compile on lavapipe (4 vs 11 s at 8 kv heads of 4 queries) and the
  // spans ran ~1.3x slower.
  for (var j = 0u; j < GROUP * p.hd4; j++) { qs[j] = q[head0 * HD4 + j] * p.scale; }
  // The span's keys: the group's logits to scratch and each head's max. The slots' pages are
  // followed along the span (no integer division per slot).
  let page0 = start / kv.pageSize;
  let table = kv.pageTableOffset + h * kv.pagesPerHead;
  var m: array<f32, GROUP>;
  for (var g = 0u; g < GROUP; g++) { m[g] = NEG_INF; }
  var page = page0;
  var off = start - page0 * kv.pageSize;
  for (var s = start; s < end; s++) {
    // Zeroed by hand: a var declared in a loop body was not re-zeroed per iteration on lavapipe.
    var x: array<f32, GROUP>;
    for (var g = 0u; g < GROUP; g++) { x[g] = NEG_INF; }
    if (visible(kv_slot_pos(h, s), qp)) {
      let kb = (index[table + page] * kv.pageSize + off) * HD4;
      for (var g = 0u; g < GROUP; g++) { x[g] = 0.0; }
      for (var i = 0u; i < HD4; i++) {
        let k = kv_vec4(kPool[kb + i]);
        for (var g = 0u; g < GROUP; g++) { x[g] += dot(qs[g * HD4 + i], k); }
      }
    }
    for (var g = 0u; g < GROUP; g++) {
      scratch[logit_at(head0 + g, s)] = x[g];
      m[g] = max(m[g], x[g]);
    }
    next_slot(&page, &off);
  }
  // The span's values weighted by exp(logit - span max).
  var l: array<f32, GROUP>;
  var acc: array<vec4<f32>, GROUP * HD4>;
  page = page0;
  off = start - page0 * kv.pageSize;
  for (var s = start; s < end; s++) {
    var e: array<f32, GROUP>;
    var live = false;
    for (var g = 0u; g < GROUP; g++) {
      let x = scratch[logit_at(head0 + g, s)];
      live = live || x > NEG_INF;
      e[g] = select(0.0, exp(x - m[g]), x > NEG_INF);
      l[g] += e[g];
    }
    if (live) {
      let vb = (index[table + page] * kv.pageSize + off) * HD4;
      for (var i = 0u; i < HD4; i++) {
        let v = kv_vec4(vPool[vb + i]);
        for (var g = 0u; g < GROUP; g++) { acc[g * HD4 + i] += e[g] * v; }
      }
    }
    next_slot(&page, &off);
  }
  for (var g = 0u; g < GROUP; g++) {
    let at = partial_at(0u, head0 + g, span);
    for (var i = 0u; i < p.hd4; i++) {
      let a = acc[g * HD4 + i];
      scratch[at + 4u * i] = a.x;
      scratch[at + 4u * i + 1u] = a.y;
      scratch[at + 4u * i + 2u] = a.z;
      scratch[at + 4u * i + 3u] = a.w;
    }
    scratch[at + 4u * HD4] = m[g];
    scratch[at + 4u * HD4 + 1u] = l[g];
  }
}

// The group's max and 1 / sum over every span.
struct GroupSoftmax { m: array<f32, GROUP>, inv: array<f32, GROUP> }

fn decode_merge_impl(i: u32, h: u32) -> GroupSoftmax {
  let spans = (num_slots(h) + p.chunkSlots - 1u) / p.chunkSlots;
  let head0 = h * GROUP;
  var sm: GroupSoftmax;
  for (var g = 0u; g < GROUP; g++) { sm.m[g] = NEG_INF; }
  for (var c = 0u; c < spans; c++) {
    for (var g = 0u; g < GROUP; g++) { sm.m[g] = max(sm.m[g], scratch[partial_at(0u, head0 + g, c) + 4u * HD4]); }
  }
  var l: array<f32, GROUP>;
  var acc: array<vec4<f32>, GROUP>;
  for (var c = 0u; c < spans; c++) {
    for (var g = 0u; g < GROUP; g++) {
      let at = partial_at(0u, head0 + g, c);
      let mc = scratch[at + 4u * HD4];
      // A span without a visible slot has no output.
      if (mc > NEG_INF) {
        let w = exp(mc - sm.m[g]);
        l[g] += scratch[at + 4u * HD4 + 1u] * w;
        let d = at + 4u * i;
        acc[g] += vec4<f32>(scratch[d], scratch[d + 1u], scratch[d + 2u], scratch[d + 3u]) * w;
      }
    }
  }
  for (var g = 0u; g < GROUP; g++) {
    sm.inv[g] = select(0.0, 1.0 / l[g], l[g] > 0.0);
    out[(head0 + g) * HD4 + i] = acc[g] * sm.inv[g];
    if (i == 0u) { stats[head0 + g] = vec2<f32>(sm.m[g], sm.inv[g]); }
  }
  return sm;
}

// The group's probabilities of a slot (its logits are in scratch).
fn slot_probs(h: u32, s: u32, sm: GroupSoftmax) -> array<f32, GROUP> {
  var pr: array<f32, GROUP>;
  for (var g = 0u; g < GROUP; g++) {
    let x = scratch[logit_at(h * GROUP + g, s)];
    pr[g] = select(0.0, exp(x - sm.m[g]) * sm.inv[g], x > NEG_INF);
  }
  return pr;
}

@compute @workgroup_size(64)
fn decode_merge(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  let h = gid.y;
  if (i >= HD4 || h >= kv.numKvHeads) { return; }
  let sm = decode_merge_impl(i, h);
  for (var s = i; s < num_slots(h); s += HD4) {
    if (kv_slot_pos(h, s) >= 0) { add_score(h, s, slot_probs(h, s, sm)); }
  }
}

@compute @workgroup_size(64)
fn decode_merge_colsum(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  let h = gid.y;
  if (i >= HD4 || h >= kv.numKvHeads) { return; }
  let sm = decode_merge_impl(i, h);
  for (var s = i; s < num_slots(h); s += HD4) {
    if (kv_slot_pos(h, s) < 0) { continue; }
    let pr = slot_probs(h, s, sm);
    add_score(h, s, pr);
    add_colsum(h, s, pr);
  }
}

fn add_score(h: u32, slot: u32, pr: array<f32, GROUP>) {
  var total = 0.0;
  for (var g = 0u; g < GROUP; g++) { total += pr[g]; }
  score[h * kv.maxSlots + slot] += total;
}

fn add_colsum(h: u32, slot: u32, pr: array<f32, GROUP>) {
  // The column sums cover the prompt's first chunk, whose slots are its positions (< colsumStride).
  if (slot >= p.colsumStride) { return; }
  for (var g = 0u; g < GROUP; g++) { colsums[(h * GROUP + g) * p.colsumStride + slot] += pr[g]; }
}

// ---- simple prefill ------------------------------------------------------------------------

@compute @workgroup_size(64)
fn prefill_flash(@builtin(global_invocation_id) gid: vec3<u32>) {
  // The invocations of a workgroup are queries (t, g) of one kv head h: they walk the same slots
  // in step, so every K/V load has a workgroup-uniform address (one read for the whole group).
  let h = gid.y;
  let t = gid.x / p.group;
  let head = h * p.group + gid.x % p.group;
  if (t >= step.nTokens || h >= kv.numKvHeads) { return; }
  let qb = (t * p.numHeads + head) * HD4;
  let qp = i32(step.pos0 + t);
  let n = num_slots(h);
  // Loops over HD4 (a constant) are unrolled, so qv and acc live in registers.
  var qv: array<vec4<f32>, HD4>;
  for (var i = 0u; i < HD4; i++) { qv[i] = q[qb + i] * p.scale; }
  var m = NEG_INF;
  var l = 0.0;
  var acc: array<vec4<f32>, HD4>;
  for (var s = 0u; s < n; s++) {
    if (!visible(kv_slot_pos(h, s), qp)) { continue; }
    let kb = slot_base(h, s);
    var x = 0.0;
    for (var i = 0u; i < HD4; i++) { x += dot(qv[i], kv_vec4(kPool[kb + i])); }
    if (x > m) {
      // A new running max: rescale what was accumulated (exp(NEG_INF - x) is 0).
      let c = exp(m - x);
      l *= c;
      for (var i = 0u; i < HD4; i++) { acc[i] *= c; }
      m = x;
    }
    let e = exp(x - m);
    l += e;
    for (var i = 0u; i < HD4; i++) { acc[i] += e * kv_vec4(vPool[kb + i]); }
  }
  let inv = select(0.0, 1.0 / l, l > 0.0);
  for (var i = 0u; i < HD4; i++) { out[qb + i] = acc[i] * inv; }
  stats[t * p.numHeads + head] = vec2<f32>(m, inv);
}

// Sum over the call's tokens of p(t, head, slot) for the group's heads, from the rows' stats.
// The key stays in registers (HD4 is a constant); q and stats addresses are the same for every
// invocation of the workgroup (one kv head), so they are broadcast loads.
fn prefill_probs(h: u32, slot: u32, pos: i32) -> array<f32, GROUP> {
  var r: array<f32, GROUP>;
  let kb = slot_base(h, slot);
  var kv: array<vec4<f32>, HD4>;
  for (var i = 0u; i < HD4; i++) { kv[i] = kv_vec4(kPool[kb + i]); }
  // Causal: tokens before the key's position cannot see it.
  let first = u32(max(pos - i32(step.pos0), 0));
  for (var t = first; t < step.nTokens; t++) {
    if (!visible(pos, i32(step.pos0 + t))) { continue; }
    for (var g = 0u; g < p.group; g++) {
      let head = h * p.group + g;
      let qb = (t * p.numHeads + head) * HD4;
      var x = 0.0;
      for (var i = 0u; i < HD4; i++) { x += dot(q[qb + i] * p.scale, kv[i]); }
      let st = stats[t * p.numHeads + head];
      r[g] += exp(x - st.x) * st.y;
    }
  }
  return r;
}

@compute @workgroup_size(64)
fn accumulate_prefill(@builtin(global_invocation_id) gid: vec3<u32>) {
  let slot = gid.x;
  let h = gid.y;
  if (h >= kv.numKvHeads || slot >= num_slots(h)) { return; }
  let pos = kv_slot_pos(h, slot);
  if (pos < 0) { return; }
  add_score(h, slot, prefill_probs(h, slot, pos));
}

@compute @workgroup_size(64)
fn accumulate_prefill_colsum(@builtin(global_invocation_id) gid: vec3<u32>) {
  let slot = gid.x;
  let h = gid.y;
  if (h >= kv.numKvHeads || slot >= num_slots(h)) { return; }
  let pos = kv_slot_pos(h, slot);
  if (pos < 0) { return; }
  let pr = prefill_probs(h, slot, pos);
  add_score(h, slot, pr);
  add_colsum(h, slot, pr);
}

// ---- tiled (split-K) -----------------------------------------------------------------------

var<workgroup> qs: array<vec4<f32>, GROUP_CAP * HD4_CAP>;
var<workgroup> tileP: array<f32, GROUP_CAP * TILE>;
var<workgroup> tileBase: array<u32, TILE>;
var<workgroup> runMax: array<f32, GROUP_CAP>;
var<workgroup> runSum: array<f32, GROUP_CAP>;
var<workgroup> corr: array<f32, GROUP_CAP>;

@compute @workgroup_size(64)
fn tiled_partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let chunk = wid.x;
  let h = wid.y;
  let t = wid.z;
  // Workgroup-uniform exits (before any barrier).
  if (t >= step.nTokens || h >= kv.numKvHeads) { return; }
  let start = chunk * CHUNK;
  let end = min(start + CHUNK, num_slots(h));
  if (start >= end) { return; }
  let qp = i32(step.pos0 + t);
  let keepLogits = step.nTokens == 1u;
  let dpt = (kv.headDim + TILE - 1u) / TILE;
  let q0 = (t * p.numHeads + h * p.group) * p.hd4;
  for (var i = lid; i < p.group * p.hd4; i += TILE) { qs[i] = q[q0 + i] * p.scale; }
  if (lid < p.group) {
    runMax[lid] = NEG_INF;
    runSum[lid] = 0.0;
  }
  var acc: array<f32, GROUP_CAP * DPT_CAP>;
  workgroupBarrier();
  for (var base = start; base < end; base += TILE) {
    // Logits: one thread per slot, K read once for the group.
    let s = base + lid;
    let count = min(TILE, end - base);
    var kb = NONE;
    if (s < end && visible(kv_slot_pos(h, s), qp)) { kb = slot_base(h, s); }
    tileBase[lid] = kb;
    for (var g = 0u; g < p.group; g++) {
      var x = NEG_INF;
      if (kb != NONE) {
        x = 0.0;
        for (var i = 0u; i < p.hd4; i++) { x += dot(qs[g * p.hd4 + i], kv_vec4(kPool[kb + i])); }
      }
      tileP[g * TILE + lid] = x;
      if (keepLogits && s < end) { scratch[logit_at(h * p.group + g, s)] = x; }
    }
    workgroupBarrier();
    // New running max per head.
    if (lid < p.group) {
      var m = runMax[lid];
      for (var j = 0u; j < count; j++) { m = max(m, tileP[lid * TILE + j]); }
      corr[lid] = exp(runMax[lid] - m);
      runMax[lid] = m;
    }
    workgroupBarrier();
    for (var g = 0u; g < p.group; g++) {
      let x = tileP[g * TILE + lid];
      tileP[g * TILE + lid] = select(0.0, exp(x - runMax[g]), x > NEG_INF);
    }
    workgroupBarrier();
    if (lid < p.group) {
      var sum = 0.0;
      for (var j = 0u; j < count; j++) { sum += tileP[lid * TILE + j]; }
      runSum[lid] = runSum[lid] * corr[lid] + sum;
    }
    // P.V: one thread per dim, V read once for the group.
    for (var i = 0u; i < dpt; i++) {
      let d = lid + i * TILE;
      if (d >= kv.headDim) { break; }
      for (var g = 0u; g < p.group; g++) { acc[g * dpt + i] *= corr[g]; }
      for (var j = 0u; j < count; j++) {
        let vb = tileBase[j];
        if (vb == NONE) { continue; }
        let v = kv_vec4(vPool[vb + d / 4u])[d % 4u];
        for (var g = 0u; g < p.group; g++) { acc[g * dpt + i] += tileP[g * TILE + j] * v; }
      }
    }
    workgroupBarrier();
  }
  for (var g = 0u; g < p.group; g++) {
    let at = partial_at(t, h * p.group + g, chunk);
    for (var i = 0u; i < dpt; i++) {
      let d = lid + i * TILE;
      if (d < kv.headDim) { scratch[at + d] = acc[g * dpt + i]; }
    }
    if (lid == 0u) {
      scratch[at + kv.headDim] = runMax[g];
      scratch[at + kv.headDim + 1u] = runSum[g];
    }
  }
}

var<workgroup> combined: array<vec2<f32>, GROUP_CAP>;

// Merges the chunks of kv head h's group for token t: out, stats and (for the decode entry points)
// each head's (max, 1 / sum) in workgroup memory. One workgroup per (kv head, token); its
// invocations share out the (head of the group, 4 dims) pairs.
fn combine_group(h: u32, t: u32, lid: u32) {
  let chunks = (num_slots(h) + CHUNK - 1u) / CHUNK;
  for (var e = lid; e < GROUP * p.hd4; e += TILE) {
    let g = e / p.hd4;
    let i = e % p.hd4;
    let head = h * GROUP + g;
    var m = NEG_INF;
    for (var c = 0u; c < chunks; c++) { m = max(m, scratch[partial_at(t, head, c) + kv.headDim]); }
    var l = 0.0;
    var o = vec4<f32>(0.0);
    for (var c = 0u; c < chunks; c++) {
      let at = partial_at(t, head, c);
      let mc = scratch[at + kv.headDim];
      if (mc > NEG_INF) {
        let w = exp(mc - m);
        l += scratch[at + kv.headDim + 1u] * w;
        let d = at + 4u * i;
        o += vec4<f32>(scratch[d], scratch[d + 1u], scratch[d + 2u], scratch[d + 3u]) * w;
      }
    }
    let inv = select(0.0, 1.0 / l, l > 0.0);
    out[(t * p.numHeads + head) * p.hd4 + i] = o * inv;
    if (i == 0u) {
      stats[t * p.numHeads + head] = vec2<f32>(m, inv);
      combined[g] = vec2<f32>(m, inv);
    }
  }
}

// The group's probabilities of a decode slot, from the logits tiled_partial kept.
fn combined_probs(h: u32, s: u32) -> array<f32, GROUP> {
  var pr: array<f32, GROUP>;
  for (var g = 0u; g < GROUP; g++) {
    let x = scratch[logit_at(h * GROUP + g, s)];
    pr[g] = select(0.0, exp(x - combined[g].x) * combined[g].y, x > NEG_INF);
  }
  return pr;
}

@compute @workgroup_size(64)
fn tiled_combine(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  if (wid.x >= kv.numKvHeads || wid.y >= step.nTokens) { return; }
  combine_group(wid.x, wid.y, lid);
}

// Decode (T == 1): the merge, then the probabilities added to the scores (the second and last
// dispatch of a tiled decode step).
@compute @workgroup_size(64)
fn tiled_combine_decode(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let h = wid.x;
  if (h >= kv.numKvHeads) { return; }
  combine_group(h, 0u, lid);
  workgroupBarrier();
  for (var s = lid; s < num_slots(h); s += TILE) {
    if (kv_slot_pos(h, s) >= 0) { add_score(h, s, combined_probs(h, s)); }
  }
}

@compute @workgroup_size(64)
fn tiled_combine_decode_colsum(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let h = wid.x;
  if (h >= kv.numKvHeads) { return; }
  combine_group(h, 0u, lid);
  workgroupBarrier();
  for (var s = lid; s < num_slots(h); s += TILE) {
    if (kv_slot_pos(h, s) < 0) { continue; }
    let pr = combined_probs(h, s);
    add_score(h, s, pr);
    add_colsum(h, s, pr);
  }
}
