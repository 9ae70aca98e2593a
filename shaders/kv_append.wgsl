// Writes the step's post-RoPE keys and values [T, numKvHeads, headDim] into one layer's paged cache
// (layout and slot rules in src/gpu/kv-cache.ts). Token t of the chunk goes to the t-th lowest
// freed slot while there are any (the free list is kept descending, so those are its last
// entries), then to numSlots + (t - freeCount), numSlots + (t - freeCount) + 1, ...: a chunk never
// needs a contiguous run of free slots, and new slots are appended at the end. Each token's slot
// gets its position pos0 + t and a zero score; `advance` then updates meta (a second dispatch, so
// every `append` invocation has read the old meta first).

struct StepParams { pos0: u32, nTokens: u32, step: u32, seed: u32 }
struct Params { numKvHeads: u32, headDim: u32, pageSize: u32, pagesPerHead: u32, maxSlots: u32, pageTableOffset: u32, slotPosOffset: u32, freeListOffset: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<uniform> step: StepParams;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
// The pools' storage (f32 or f16) comes from the kv_<dtype>.wgsl the wrapper puts first: pairs of
// elements, so that packed halves are written whole.
@group(0) @binding(4) var<storage, read_write> kPool: array<KvPair>;
@group(0) @binding(5) var<storage, read_write> vPool: array<KvPair>;
@group(0) @binding(6) var<storage, read_write> index: array<u32>;
@group(0) @binding(7) var<storage, read_write> score: array<f32>;

fn slot_base(h: u32, slot: u32) -> u32 {
  let page = index[p.pageTableOffset + h * p.pagesPerHead + slot / p.pageSize];
  return (page * p.pageSize + slot % p.pageSize) * p.headDim;
}

// One invocation per (kv head, pair of dims) and token.
@compute @workgroup_size(64)
fn append(@builtin(global_invocation_id) gid: vec3<u32>) {
  let d = 2u * (gid.x % (p.headDim / 2u));
  let h = gid.x / (p.headDim / 2u);
  let t = gid.y;
  if (h >= p.numKvHeads || t >= step.nTokens) { return; }
  let numSlots = index[2u * h];
  let freeCount = index[2u * h + 1u];
  var slot = numSlots + t - freeCount;
  if (t < freeCount) { slot = index[p.freeListOffset + h * p.maxSlots + freeCount - 1u - t]; }
  // Past the capacity the token is dropped (the engine checks room on the CPU before this).
  if (slot >= p.maxSlots) { return; }
  let src = (t * p.numKvHeads + h) * p.headDim + d;
  let dst = (slot_base(h, slot) + d) / 2u;
  kPool[dst] = kv_pack(vec2<f32>(k[src], k[src + 1u]));
  vPool[dst] = kv_pack(vec2<f32>(v[src], v[src + 1u]));
  if (d == 0u) {
    index[p.slotPosOffset + h * p.maxSlots + slot] = step.pos0 + t;
    score[h * p.maxSlots + slot] = 0.0;
  }
}

// One invocation per kv head.
@compute @workgroup_size(64)
fn advance(@builtin(global_invocation_id) gid: vec3<u32>) {
  let h = gid.x;
  if (h >= p.numKvHeads) { return; }
  // Freed slots are used first; only the rest grows the table.
  let freeCount = index[2u * h + 1u];
  let reused = min(freeCount, step.nTokens);
  index[2u * h] = min(index[2u * h] + step.nTokens - reused, p.maxSlots);
  index[2u * h + 1u] = freeCount - reused;
}
