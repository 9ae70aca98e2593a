// Picks the next token from logits [vocab] on the GPU, following src/cpu/sampler.ts exactly:
// repetition penalty over the recent-ids ring, then argmax (lowest id on ties) or a draw with
// temperature, top-k and top-p. Top-k/top-p keep every token whose probability reaches a threshold
// found by binary search on the float's bits (no sort), and the draw walks kept ids in ascending
// order. One workgroup; writes the id to ids[0], where the next step's embedding reads it.

struct StepParams { pos0: u32, nTokens: u32, step: u32, seed: u32 }
struct Params { vocab: u32, greedy: u32, topK: u32, window: u32, temperature: f32, topP: f32, penalty: f32, ringSize: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<uniform> step: StepParams;
@group(0) @binding(2) var<storage, read_write> logits: array<f32>;
@group(0) @binding(3) var<storage, read> recent: array<u32>;
@group(0) @binding(4) var<storage, read_write> ids: array<u32>;
@group(0) @binding(5) var<storage, read_write> probs: array<f32>;

const WG: u32 = 256u;
const NONE: u32 = 0xffffffffu;
var<workgroup> red_f: array<f32, WG>;
var<workgroup> red_u: array<u32, WG>;

// The PCG hash of src/engine/sampling.ts `uniformAt`: u32 products wrap as Math.imul does.
fn uniform_at(seed: u32, s: u32) -> f32 {
  var x = seed * 747796405u + s * 2891336453u + 1u;
  x = x * 747796405u + 2891336453u;
  let word = ((x >> ((x >> 28u) + 4u)) ^ x) * 277803737u;
  let h = (word >> 22u) ^ word;
  return f32(h >> 8u) / 16777216.0;
}

fn sum_all(lid: u32, v: f32) -> f32 {
  red_f[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red_f[lid] += red_f[lid + s]; }
    workgroupBarrier();
  }
  let total = red_f[0];
  workgroupBarrier();
  return total;
}

fn max_all(lid: u32, v: f32) -> f32 {
  red_f[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red_f[lid] = max(red_f[lid], red_f[lid + s]); }
    workgroupBarrier();
  }
  let m = red_f[0];
  workgroupBarrier();
  return m;
}

// Largest probability bit pattern t with f(t) >= target, where f is the count (byCount) or the
// mass of probabilities >= t: both only fall as t grows, so 31 bisection rounds find it.
fn threshold(lid: u32, goal: f32, byCount: bool) -> f32 {
  var lo = 0u;
  var hi = 0x3f800001u;
  for (var it = 0u; it < 31u; it++) {
    let mid = lo + (hi - lo) / 2u;
    let t = bitcast<f32>(mid);
    var part = 0.0;
    for (var i = lid; i < p.vocab; i += WG) {
      if (probs[i] >= t) { part += select(probs[i], 1.0, byCount); }
    }
    let ok = sum_all(lid, part) >= goal;
    lo = select(lo, mid, ok);
    hi = select(mid, hi, ok);
  }
  return bitcast<f32>(lo);
}

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  // Repetition penalty, once per distinct id among the last `window` context ids (the ring holds
  // the id of position i at i % ringSize; the most recent occurrence applies it).
  let len = step.pos0 + step.nTokens;
  let w = min(p.window, len);
  if (p.penalty != 1.0) {
    for (var j = lid; j < w; j += WG) {
      let id = recent[(len - 1u - j) % p.ringSize];
      var first = id != NONE && id < p.vocab;
      for (var k = 0u; k < j && first; k++) { first = recent[(len - 1u - k) % p.ringSize] != id; }
      if (first) {
        let x = logits[id];
        logits[id] = select(x * p.penalty, x / p.penalty, x > 0.0);
      }
    }
  }
  storageBarrier();
  workgroupBarrier();

  if (p.greedy != 0u) {
    var best = -3.4e38;
    var bestId = NONE;
    for (var i = lid; i < p.vocab; i += WG) {
      if (logits[i] > best) { best = logits[i]; bestId = i; }
    }
    red_f[lid] = best;
    red_u[lid] = bestId;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
      if (lid < s) {
        let v = red_f[lid + s];
        let id = red_u[lid + s];
        if (v > red_f[lid] || (v == red_f[lid] && id < red_u[lid])) { red_f[lid] = v; red_u[lid] = id; }
      }
      workgroupBarrier();
    }
    if (lid == 0u) { ids[0] = red_u[0]; }
    return;
  }

  var m = -3.4e38;
  for (var i = lid; i < p.vocab; i += WG) { m = max(m, logits[i] / p.temperature); }
  m = max_all(lid, m);
  var part = 0.0;
  for (var i = lid; i < p.vocab; i += WG) {
    let e = exp(logits[i] / p.temperature - m);
    probs[i] = e;
    part += e;
  }
  let total = sum_all(lid, part);
  for (var i = lid; i < p.vocab; i += WG) { probs[i] = probs[i] / total; }
  storageBarrier();
  workgroupBarrier();

  var thr = 0.0;
  if (p.topK > 0u && p.topK < p.vocab) { thr = threshold(lid, f32(p.topK), true); }
  if (p.topP < 1.0) { thr = max(thr, threshold(lid, p.topP, false)); }

  // Kept mass by contiguous chunks, so the draw can walk ids in ascending order.
  let chunk = (p.vocab + WG - 1u) / WG;
  let begin = lid * chunk;
  let end = min(begin + chunk, p.vocab);
  var mass = 0.0;
  for (var i = begin; i < end; i++) { if (probs[i] >= thr) { mass += probs[i]; } }
  red_f[lid] = mass;
  workgroupBarrier();
  if (lid == 0u) {
    var kept = 0.0;
    for (var c = 0u; c < WG; c++) { kept += red_f[c]; }
    let r = uniform_at(step.seed, step.step) * kept;
    var cum = 0.0;
    var pick = NONE;
    var last = 0u;
    for (var c = 0u; c < WG && pick == NONE; c++) {
      if (cum + red_f[c] <= r && c + 1u < WG) { cum += red_f[c]; continue; }
      for (var i = c * chunk; i < min(c * chunk + chunk, p.vocab); i++) {
        if (probs[i] < thr) { continue; }
        cum += probs[i];
        last = i;
        if (cum > r) { pick = i; break; }
      }
    }
    ids[0] = select(pick, last, pick == NONE);
  }
}
