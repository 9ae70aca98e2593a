/** What a KV policy reports after any step. */
import type { PolicyName } from './policy';

export interface KvLayerStats {
  /** Heavy hitters + recent window, null when the layer is not compressed (yet). */
  budget: number | null;
  hh: number | null;
  recent: number | null;
  /** Live tokens, averaged over the layer's KV heads. */
  occupancy: number;
  evictions: number;
  merges: number;
  tau: number | null;
}

export interface KvStats {
  policy: PolicyName;
  layers: KvLayerStats[];
  /** Bytes the cache holds now vs what a full cache of this sequence length would need. */
  bytesAllocated: number;
  bytesFull: number;
  sequenceLength: number;
}

/** Which positions the cache still holds, per layer (the demo's KV map). */
export interface KvMapLayer {
  /** Sorted positions some KV head of the layer holds; every other position below the sequence length was evicted. */
  kept: number[];
  /** The kept positions that absorbed evicted tokens by merging (in some head). */
  merged: number[];
}

export interface KvMap {
  sequenceLength: number;
  layers: KvMapLayer[];
}

/** Builds a layer's map from each head's per-slot positions (-1 free) and merge counts. */
export function kvMapLayer(heads: { pos: ArrayLike<number>; absorbed: ArrayLike<number> }[]): KvMapLayer {
  const kept = new Set<number>();
  const merged = new Set<number>();
  for (const h of heads) {
    for (let s = 0; s < h.pos.length; s++) {
      if (h.pos[s] < 0) continue;
      kept.add(h.pos[s]);
      if (h.absorbed[s] > 0) merged.add(h.pos[s]);
    }
  }
  const sorted = (x: Set<number>) => [...x].sort((a, b) => a - b);
  return { kept: sorted(kept), merged: sorted(merged) };
}
