// Attention of the step's queries q [T, numHeads, headDim] over the paged cache, with GQA: each
// KV head is read once for its whole group of G = numHeads / numKvHeads query heads. A key is
// visible to the query at position qp iff its slot is live, its position <= qp and, with a sliding
// window W, > qp - W. Barrier-free passes:
//   scores:        one invocation per (t, kv head, slot): the G scaled dot products
//   softmax_stats: one per (t, head): row max and sum of exponentials
//   weighted_sum:  one per (t, kv head, dim): out = sum_slot p * V, reading V once for the group
//   accumulate:    one per (kv head, slot): score[slot] += sum over t and the group of p
//   colsum:        one per (head, slot): colsum[head][slot] += sum over t of p (first prefill, for
//                  the per-layer attention variance of D2O's budgets)

struct StepParams { pos0: u32, nTokens: u32, step: u32, seed: u32 }
struct Params {
  numHeads: u32, numKvHeads: u32, headDim: u32, pageSize: u32,
  pagesPerHead: u32, maxSlots: u32, pageTableOffset: u32, slotPosOffset: u32,
  window: u32, scale: f32, _a: u32, _b: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<uniform> step: StepParams;
@group(0) @binding(2) var<storage, read> q: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> kPool: array<f32>;
@group(0) @binding(5) var<storage, read> vPool: array<f32>;
@group(0) @binding(6) var<storage, read> index: array<u32>;
@group(0) @binding(7) var<storage, read_write> score: array<f32>;
@group(0) @binding(8) var<storage, read_write> logits: array<f32>;
@group(0) @binding(9) var<storage, read_write> stats: array<vec2<f32>>;
@group(0) @binding(10) var<storage, read_write> colsums: array<f32>;

const NEG_INF: f32 = -3.0e38;

fn slot_base(h: u32, slot: u32) -> u32 {
  let page = index[p.pageTableOffset + h * p.pagesPerHead + slot / p.pageSize];
  return (page * p.pageSize + slot % p.pageSize) * p.headDim;
}

fn visible(h: u32, slot: u32, t: u32) -> bool {
  let pos = bitcast<i32>(index[p.slotPosOffset + h * p.maxSlots + slot]);
  let qp = i32(step.pos0 + t);
  return pos >= 0 && pos <= qp && (p.window == 0u || pos > qp - i32(p.window));
}

fn num_slots(h: u32) -> u32 {
  return index[2u * h];
}

fn logit_index(t: u32, head: u32, slot: u32) -> u32 {
  return (t * p.numHeads + head) * p.maxSlots + slot;
}

@compute @workgroup_size(64)
fn scores(@builtin(global_invocation_id) gid: vec3<u32>) {
  let slot = gid.x;
  let h = gid.y;
  let t = gid.z;
  if (t >= step.nTokens || slot >= num_slots(h)) { return; }
  let group = p.numHeads / p.numKvHeads;
  let live = visible(h, slot, t);
  let kb = slot_base(h, slot);
  for (var g = 0u; g < group; g++) {
    let head = h * group + g;
    var dot = 0.0;
    if (live) {
      let qb = (t * p.numHeads + head) * p.headDim;
      for (var d = 0u; d < p.headDim; d++) { dot += q[qb + d] * kPool[kb + d]; }
    }
    logits[logit_index(t, head, slot)] = select(NEG_INF, dot * p.scale, live);
  }
}

@compute @workgroup_size(64)
fn softmax_stats(@builtin(global_invocation_id) gid: vec3<u32>) {
  let head = gid.x % p.numHeads;
  let t = gid.x / p.numHeads;
  if (t >= step.nTokens) { return; }
  let n = num_slots(head / (p.numHeads / p.numKvHeads));
  var m = NEG_INF;
  for (var s = 0u; s < n; s++) { m = max(m, logits[logit_index(t, head, s)]); }
  var sum = 0.0;
  for (var s = 0u; s < n; s++) {
    let l = logits[logit_index(t, head, s)];
    if (l > NEG_INF) { sum += exp(l - m); }
  }
  stats[t * p.numHeads + head] = vec2<f32>(m, 1.0 / sum);
}

fn prob(t: u32, head: u32, slot: u32) -> f32 {
  let l = logits[logit_index(t, head, slot)];
  let st = stats[t * p.numHeads + head];
  return select(0.0, exp(l - st.x) * st.y, l > NEG_INF);
}

@compute @workgroup_size(64)
fn weighted_sum(@builtin(global_invocation_id) gid: vec3<u32>) {
  let d = gid.x;
  let h = gid.y;
  let t = gid.z;
  if (d >= p.headDim || t >= step.nTokens) { return; }
  let group = p.numHeads / p.numKvHeads;
  let n = num_slots(h);
  // G <= 16 accumulators per invocation (Llama/Mistral groups are 1 to 8).
  var acc: array<f32, 16>;
  for (var s = 0u; s < n; s++) {
    let v = vPool[slot_base(h, s) + d];
    for (var g = 0u; g < group; g++) { acc[g] += prob(t, h * group + g, s) * v; }
  }
  for (var g = 0u; g < group; g++) { out[(t * p.numHeads + h * group + g) * p.headDim + d] = acc[g]; }
}

@compute @workgroup_size(64)
fn accumulate(@builtin(global_invocation_id) gid: vec3<u32>) {
  let slot = gid.x;
  let h = gid.y;
  if (slot >= num_slots(h)) { return; }
  let group = p.numHeads / p.numKvHeads;
  var received = 0.0;
  for (var t = 0u; t < step.nTokens; t++) {
    for (var g = 0u; g < group; g++) { received += prob(t, h * group + g, slot); }
  }
  score[h * p.maxSlots + slot] += received;
}

@compute @workgroup_size(64)
fn colsum(@builtin(global_invocation_id) gid: vec3<u32>) {
  let slot = gid.x;
  let head = gid.y;
  if (slot >= num_slots(head / (p.numHeads / p.numKvHeads))) { return; }
  var received = 0.0;
  for (var t = 0u; t < step.nTokens; t++) { received += prob(t, head, slot); }
  colsums[head * p.maxSlots + slot] += received;
}
