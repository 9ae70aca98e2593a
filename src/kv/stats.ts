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
