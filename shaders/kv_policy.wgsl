// The token-level KV policy of one layer on the GPU (d2o-spec.md sections 3 and 4), run after the
// step's attention so no score is read back:
//   select      one invocation per KV head: the victims (live tokens over the budget, lowest
//               cumulative score first, ties to the lowest slot; sinks and the recent window never)
//   similarity  one per (KV head, victim): max cosine of the victim's key against kept keys, argmax
//   threshold   one invocation: tau = mean(u) at the first eviction, then alpha*tau + beta*mean(u);
//               eviction and merge counts
//   merge       one per (KV head, kept slot): k_c = (k_c + sum u_e k_e) / (1 + |M_c|), same for v
//   release     one per KV head: free the victims' slots (free list kept descending)
// `variance` (once, after the first prefill) turns each head's column sums into their unbiased variance.

// StepParams, KvLayout, Policy (hh + recent = the layer's budget; flags: 1 compress, 2 streaming,
// 4 merge, 8 merge decided on the mean over heads) and PolicyRows (maxVictims: victims a head can have in one step, the victims/sims row
// stride; colsumStride: the column sums' row stride, they cover the prompt's first chunk) are
// prepended by the wrapper (src/gpu/uniforms.ts), the addressing by paged_kv.wgsl.
// tau, tauSet, evictions, merges
struct State { tau: f32, tauSet: u32, evictions: u32, merges: u32 }

@group(0) @binding(0) var<uniform> kv: KvLayout;
@group(0) @binding(1) var<uniform> step: StepParams;
@group(0) @binding(2) var<uniform> policy: Policy;
// The pools' storage (f32 or f16) comes from the kv_<dtype>.wgsl the wrapper puts first: pairs of
// elements (head dims are even); a merge computes in f32 and stores rounded to the storage.
@group(0) @binding(3) var<storage, read_write> kPool: array<KvPair>;
@group(0) @binding(4) var<storage, read_write> vPool: array<KvPair>;
@group(0) @binding(5) var<storage, read_write> index: array<u32>;
@group(0) @binding(6) var<storage, read_write> score: array<f32>;
@group(0) @binding(7) var<storage, read_write> victims: array<u32>;
@group(0) @binding(8) var<storage, read_write> sims: array<vec2<f32>>;
@group(0) @binding(9) var<storage, read_write> state: State;
// Per slot: how many evicted tokens were merged into it (for the KV map); cleared when it is freed.
@group(0) @binding(12) var<storage, read_write> absorbed: array<u32>;
@group(0) @binding(13) var<uniform> rows: PolicyRows;

const SINKS: i32 = 4;
// A chosen victim's score is set to this until `release` frees it.
const CHOSEN: f32 = 3.0e38;

fn victim_count(h: u32) -> u32 {
  return victims[h * (rows.maxVictims + 1u)];
}

fn victim(h: u32, k: u32) -> u32 {
  return victims[h * (rows.maxVictims + 1u) + 1u + k];
}

// Whether head h's k-th victim merges: its own best similarity passes tau, or (flag 8, the official
// code's decision) the mean over the layer's heads of their k-th victims' best similarities does.
fn accepted(h: u32, k: u32) -> bool {
  let s = sims[h * rows.maxVictims + k];
  if (bitcast<u32>(s.y) == 0xffffffffu) { return false; }
  if ((policy.flags & 8u) == 0u) { return s.x >= state.tau; }
  var sum = 0.0;
  var n = 0u;
  for (var g = 0u; g < kv.numKvHeads; g++) {
    if (k >= victim_count(g)) { continue; }
    let t = sims[g * rows.maxVictims + k];
    if (bitcast<u32>(t.y) == 0xffffffffu) { continue; }
    sum += t.x;
    n++;
  }
  return sum / f32(n) >= state.tau;
}

fn kept(h: u32, slot: u32) -> bool {
  return kv_slot_pos(h, slot) >= 0 && score[h * kv.maxSlots + slot] != CHOSEN;
}

@compute @workgroup_size(64)
fn select_victims(@builtin(global_invocation_id) gid: vec3<u32>) {
  let h = gid.x;
  if (h >= kv.numKvHeads) { return; }
  let base = h * (rows.maxVictims + 1u);
  let n = index[2u * h];
  var live = 0u;
  for (var s = 0u; s < n; s++) { if (kv_slot_pos(h, s) >= 0) { live++; } }
  let budget = policy.hh + policy.recent;
  var count = 0u;
  if ((policy.flags & 1u) != 0u && live > budget) {
    let len = i32(step.pos0 + step.nTokens);
    let streaming = (policy.flags & 2u) != 0u;
    for (var k = 0u; k < min(live - budget, rows.maxVictims); k++) {
      var best = 0xffffffffu;
      var bestKey = CHOSEN;
      for (var s = 0u; s < n; s++) {
        let pos = kv_slot_pos(h, s);
        let sc = score[h * kv.maxSlots + s];
        if (pos < SINKS || pos >= len - i32(policy.recent) || sc == CHOSEN) { continue; }
        let key = select(sc, f32(pos), streaming);
        if (key < bestKey) { bestKey = key; best = s; }
      }
      if (best == 0xffffffffu) { break; }
      score[h * kv.maxSlots + best] = CHOSEN;
      // Insertion keeps the victims in ascending slot order, the order the CPU merges them in.
      var i = count;
      while (i > 0u && victims[base + i] > best) { victims[base + 1u + i] = victims[base + i]; i--; }
      victims[base + 1u + i] = best;
      count++;
    }
  }
  victims[base] = count;
}

@compute @workgroup_size(64)
fn similarity(@builtin(global_invocation_id) gid: vec3<u32>) {
  let k = gid.x;
  let h = gid.y;
  if (k >= victim_count(h)) { return; }
  let e = victim(h, k);
  let eb = kv_slot_base(h, e);
  var ne = 0.0;
  for (var d = 0u; d < kv.headDim; d += 2u) {
    let ke = kv_pair(kPool[(eb + d) / 2u]);
    ne += ke.x * ke.x;
    ne += ke.y * ke.y;
  }
  var best = -3.0e38;
  var bestSlot = 0xffffffffu;
  for (var c = 0u; c < index[2u * h]; c++) {
    if (!kept(h, c)) { continue; }
    let cb = kv_slot_base(h, c);
    var dot = 0.0;
    var nc = 0.0;
    for (var d = 0u; d < kv.headDim; d += 2u) {
      let ke = kv_pair(kPool[(eb + d) / 2u]);
      let kc = kv_pair(kPool[(cb + d) / 2u]);
      dot += ke.x * kc.x;
      nc += kc.x * kc.x;
      dot += ke.y * kc.y;
      nc += kc.y * kc.y;
    }
    let u = dot / max(sqrt(ne) * sqrt(nc), 1e-12);
    if (u > best) { best = u; bestSlot = c; }
  }
  sims[h * rows.maxVictims + k] = vec2<f32>(best, bitcast<f32>(bestSlot));
}

@compute @workgroup_size(1)
fn threshold() {
  var total = 0u;
  var sum = 0.0;
  for (var h = 0u; h < kv.numKvHeads; h++) {
    for (var k = 0u; k < victim_count(h); k++) { sum += sims[h * rows.maxVictims + k].x; total++; }
  }
  if (total == 0u) { return; }
  state.evictions += total;
  if ((policy.flags & 4u) == 0u) { return; }
  let mean = sum / f32(total);
  state.tau = select(mean, policy.alpha * state.tau + policy.beta * mean, state.tauSet != 0u);
  state.tauSet = 1u;
  for (var h = 0u; h < kv.numKvHeads; h++) {
    for (var k = 0u; k < victim_count(h); k++) {
      let s = sims[h * rows.maxVictims + k];
      if (accepted(h, k)) { state.merges++; }
    }
  }
}

@compute @workgroup_size(64)
fn merge(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  let h = gid.y;
  if ((policy.flags & 4u) == 0u || c >= index[2u * h] || !kept(h, c)) { return; }
  let cb = kv_slot_base(h, c);
  var members = 0u;
  for (var k = 0u; k < victim_count(h); k++) {
    let s = sims[h * rows.maxVictims + k];
    if (bitcast<u32>(s.y) == c && accepted(h, k)) { members++; }
  }
  if (members == 0u) { return; }
  absorbed[h * kv.maxSlots + c] += members;
  for (var d = 0u; d < kv.headDim; d += 2u) {
    var ka = kv_pair(kPool[(cb + d) / 2u]);
    var va = kv_pair(vPool[(cb + d) / 2u]);
    for (var k = 0u; k < victim_count(h); k++) {
      let s = sims[h * rows.maxVictims + k];
      if (bitcast<u32>(s.y) == c && accepted(h, k)) {
        let eb = kv_slot_base(h, victim(h, k));
        ka += s.x * kv_pair(kPool[(eb + d) / 2u]);
        va += s.x * kv_pair(vPool[(eb + d) / 2u]);
      }
    }
    kPool[(cb + d) / 2u] = kv_pack(ka / f32(1u + members));
    vPool[(cb + d) / 2u] = kv_pack(va / f32(1u + members));
  }
}

@compute @workgroup_size(64)
fn release(@builtin(global_invocation_id) gid: vec3<u32>) {
  let h = gid.x;
  if (h >= kv.numKvHeads) { return; }
  let list = kv.freeListOffset + h * kv.maxSlots;
  var freeCount = index[2u * h + 1u];
  for (var k = 0u; k < victim_count(h); k++) {
    let e = victim(h, k);
    index[kv.slotPosOffset + h * kv.maxSlots + e] = 0xffffffffu;
    score[h * kv.maxSlots + e] = 0.0;
    absorbed[h * kv.maxSlots + e] = 0u;
    var i = freeCount;
    while (i > 0u && index[list + i - 1u] < e) { index[list + i] = index[list + i - 1u]; i--; }
    index[list + i] = e;
    freeCount++;
  }
  index[2u * h + 1u] = freeCount;
}

// colsums [numHeads][colsumStride] -> unbiased variance over the first chunk's keys, per head.
@group(0) @binding(10) var<storage, read> colsums: array<f32>;
@group(0) @binding(11) var<storage, read_write> variances: array<f32>;

@compute @workgroup_size(64)
fn variance(@builtin(global_invocation_id) gid: vec3<u32>) {
  let head = gid.x;
  let n = policy.promptLength;
  if (head >= policy.numHeads || n == 0u) { return; }
  var mean = 0.0;
  for (var j = 0u; j < n; j++) { mean += colsums[head * rows.colsumStride + j]; }
  mean /= f32(n);
  var ss = 0.0;
  for (var j = 0u; j < n; j++) { let d = colsums[head * rows.colsumStride + j] - mean; ss += d * d; }
  variances[head] = select(0.0, ss / f32(n - 1u), n > 1u);
}
