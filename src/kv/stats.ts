/** What a KV policy reports after any step, built the same way by both backends. */
import { kvDtypeBytes, type KvDtype } from './dtype';
import type { PolicyName } from './policy';
import type { LayerBudget } from './budgets';

export interface KvLayerStats {
  /** Heavy hitters + recent window, null when the layer is not compressed (yet). */
  budget: number | null;
  hh: number | null;
  recent: number | null;
  /** Live tokens, averaged over the layer's KV heads. */
  occupancy: number;
  /** Tokens evicted and evicted tokens merged, summed over the layer's KV heads (each head evicts on its own). */
  evictions: number;
  merges: number;
  tau: number | null;
}

export interface KvStats {
  policy: PolicyName;
  layers: KvLayerStats[];
  /** KV heads per layer: `evictions / kvHeads` is the positions a layer evicted, `occupancy + evictions / kvHeads` the sequence length. */
  kvHeads: number;
  /** Bytes the cache allocates now vs the K and V a full cache of this sequence length holds. */
  bytesAllocated: number;
  bytesFull: number;
  /** What a fresh full cache allocates for this sequence length (its own growth and bookkeeping included). */
  bytesFullAllocated: number;
  sequenceLength: number;
}

/** A policy's running counters for one layer. */
export interface LayerCounters {
  evictions: number;
  merges: number;
  /** The merge threshold, null before the first eviction. */
  tau: number | null;
}

/** One layer's statistics: its budget (none before the first decode step or when not compressed), live tokens and counters. */
export function layerStats(budget: LayerBudget | undefined, occupancy: number, counters: LayerCounters | undefined): KvLayerStats {
  const b = budget?.compress ? budget : null;
  return {
    budget: b ? b.hh + b.recent : null,
    hh: b ? b.hh : null,
    recent: b ? b.recent : null,
    occupancy,
    evictions: counters?.evictions ?? 0,
    merges: counters?.merges ?? 0,
    tau: counters?.tau ?? null,
  };
}

/** What a full cache of `tokens` tokens takes (K and V only, f32 unless said): what compression is measured against. */
export function fullCacheBytes(shape: { numLayers: number; numKvHeads: number; headDim: number }, tokens: number, dtype: KvDtype = 'f32'): number {
  return shape.numLayers * shape.numKvHeads * tokens * shape.headDim * 2 * kvDtypeBytes(dtype);
}

/** Which positions the cache still holds, per layer (the demo's KV map). */
export interface KvMapLayer {
  /** Sorted positions some KV head of the layer holds; every other position below the sequence length was evicted. */
  kept: number[];
  /** keptHeads[i]: how many KV heads hold kept[i] (their sum over kvHeads is the layer's occupancy). */
  keptHeads: number[];
  /** The kept positions that absorbed evicted tokens by merging (in some head). */
  merged: number[];
  /** mergedHeads[i]: in how many KV heads merged[i] absorbed evicted tokens. */
  mergedHeads: number[];
}

export interface KvMap {
  sequenceLength: number;
  kvHeads: number;
  layers: KvMapLayer[];
}

/** Builds a layer's map from each head's per-slot positions (-1 free) and merge counts. */
export function kvMapLayer(heads: { pos: ArrayLike<number>; absorbed: ArrayLike<number> }[]): KvMapLayer {
  const kept = new Map<number, number>();
  const merged = new Map<number, number>();
  const count = (m: Map<number, number>, p: number) => m.set(p, (m.get(p) ?? 0) + 1);
  for (const h of heads) {
    for (let s = 0; s < h.pos.length; s++) {
      if (h.pos[s] < 0) continue;
      count(kept, h.pos[s]);
      if (h.absorbed[s] > 0) count(merged, h.pos[s]);
    }
  }
  const sorted = (m: Map<number, number>) => [...m.keys()].sort((a, b) => a - b);
  const [k, m] = [sorted(kept), sorted(merged)];
  return { kept: k, keptHeads: k.map((p) => kept.get(p)!), merged: m, mergedHeads: m.map((p) => merged.get(p)!) };
}
