// Addressing of the paged KV cache (layout in src/gpu/kv-cache.ts), prepended to kv_append,
// kv_policy and attention. The kernel declares `kv: KvLayout` (the cache's own uniform; the
// struct is prepended from src/gpu/kv-cache.ts) and `index: array<u32>` (the layer's tables).

// Position of the token in slot `slot` of KV head h, -1 when the slot is free.
fn kv_slot_pos(h: u32, slot: u32) -> i32 {
  return bitcast<i32>(index[kv.slotPosOffset + h * kv.maxSlots + slot]);
}

// Slot `slot` of KV head h as a slot of the pools (its page through the page table).
fn kv_pool_slot(h: u32, slot: u32) -> u32 {
  let page = index[kv.pageTableOffset + h * kv.pagesPerHead + slot / kv.pageSize];
  return page * kv.pageSize + slot % kv.pageSize;
}

// Float offset of that slot's key (or value) in the f32 pools.
fn kv_slot_base(h: u32, slot: u32) -> u32 {
  return kv_pool_slot(h, slot) * kv.headDim;
}
