// Applies RoPE to the step's q [T, numHeads, headDim] and k [T, numKvHeads, headDim] in place (when
// ROPE; rope.wgsl), then writes the keys and values [T, numKvHeads, headDim] into one layer's paged cache
// (layout and slot rules in src/gpu/kv-cache.ts). Token t of the chunk goes to the t-th lowest
// freed slot while there are any (the free list is kept descending, so those are its last
// entries), then to numSlots + (t - freeCount), numSlots + (t - freeCount) + 1, ...: a chunk never
// needs a contiguous run of free slots, and new slots are appended at the end. Each token's slot
// gets its position pos0 + t and a zero score; then, after a barrier (so every invocation has read
// the old meta), the first invocation updates meta: one workgroup per kv head (it rotates that head's k
// and the ROPE_GROUP query heads that share it), one dispatch.

// StepParams and KvLayout are prepended by the wrapper (src/gpu/uniforms.ts), the addressing by paged_kv.wgsl.

@group(0) @binding(0) var<uniform> kv: KvLayout;
@group(0) @binding(1) var<uniform> step: StepParams;
@group(0) @binding(2) var<storage, read_write> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
// The pools' storage (f32 or f16) comes from the kv_<dtype>.wgsl the wrapper puts first: pairs of
// elements, so that packed halves are written whole.
@group(0) @binding(4) var<storage, read_write> kPool: array<KvPair>;
@group(0) @binding(5) var<storage, read_write> vPool: array<KvPair>;
@group(0) @binding(6) var<storage, read_write> index: array<u32>;
@group(0) @binding(7) var<storage, read_write> score: array<f32>;
@group(0) @binding(8) var<storage, read_write> q: array<f32>;
@group(0) @binding(9) var<storage, read> invFreq: array<f32>;

// (x0, x1) rotated by the angle whose (sin, cos) is sc.
fn rotate(x0: f32, x1: f32, sc: vec2<f32>) -> vec2<f32> {
  return vec2<f32>(x0 * sc.y - x1 * sc.x, x0 * sc.x + x1 * sc.y);
}

// One workgroup per kv head; its invocations share out the (token, pair of dims) items.
@compute @workgroup_size(64)
fn append(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let h = wid.x;
  if (h >= kv.numKvHeads) { return; }
  let pairs = kv.headDim / 2u;
  if (ROPE) {
    // Each (token, pair) item rotates k's head h and the group's q heads h * ROPE_GROUP + g.
    let half = kv.headDim / 2u;
    for (var e = lid; e < step.nTokens * half; e += 64u) {
      let t = e / half;
      let i = e % half;
      let sc = sincos(f32(step.pos0 + t) * invFreq[i]);
      let ab = rope_pairs(i, half);
      let kb = (t * kv.numKvHeads + h) * kv.headDim;
      let ky = rotate(k[kb + ab.x], k[kb + ab.y], sc);
      k[kb + ab.x] = ky.x;
      k[kb + ab.y] = ky.y;
      for (var g = 0u; g < ROPE_GROUP; g++) {
        let qb = ((t * kv.numKvHeads + h) * ROPE_GROUP + g) * kv.headDim;
        let qy = rotate(q[qb + ab.x], q[qb + ab.y], sc);
        q[qb + ab.x] = qy.x;
        q[qb + ab.y] = qy.y;
      }
    }
    // The copy below reads k elements that other invocations rotated.
    storageBarrier();
  }
  let numSlots = index[2u * h];
  let freeCount = index[2u * h + 1u];
  for (var e = lid; e < step.nTokens * pairs; e += 64u) {
    let t = e / pairs;
    let d = 2u * (e % pairs);
    var slot = numSlots + t - freeCount;
    if (t < freeCount) { slot = index[kv.freeListOffset + h * kv.maxSlots + freeCount - 1u - t]; }
    // Past the capacity the token is dropped (the engine checks room on the CPU before this).
    if (slot >= kv.maxSlots) { continue; }
    let src = (t * kv.numKvHeads + h) * kv.headDim + d;
    let dst = (kv_slot_base(h, slot) + d) / 2u;
    kPool[dst] = kv_pack(vec2<f32>(k[src], k[src + 1u]));
    vPool[dst] = kv_pack(vec2<f32>(v[src], v[src + 1u]));
    if (d == 0u) {
      index[kv.slotPosOffset + h * kv.maxSlots + slot] = step.pos0 + t;
      score[h * kv.maxSlots + slot] = 0.0;
    }
  }
  // Every invocation has read the old meta before it changes. Freed slots are used first; only the
  // rest grows the table.
  storageBarrier();
  if (lid == 0u) {
    let reused = min(freeCount, step.nTokens);
    index[2u * h] = min(numSlots + step.nTokens - reused, kv.maxSlots);
    index[2u * h + 1u] = freeCount - reused;
  }
}
