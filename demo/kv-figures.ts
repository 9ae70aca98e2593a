/**
 * The figures the statistics panel, the budget chart and the KV map all show, computed in one
 * place from the engine's KvStats so that they cannot disagree. Every count is in positions of the
 * conversation per layer: the engine counts evictions and merges in each KV head, so they are
 * divided by the number of KV heads (a layer's heads evict on their own; the figure is their mean)
 * and can never exceed the context.
 */
import type { KvMap, KvStats } from '../src/index';

export interface LayerFigures {
  layer: number;
  /** Tokens per layer the policy allows (null: not compressed). */
  budget: number | null;
  /** Positions held, evicted, and evicted-then-merged, averaged over the layer's KV heads: held + evicted = context. */
  held: number;
  evicted: number;
  merged: number;
  /** The same counts summed over the KV heads (as the engine reports them). */
  evictionsAllHeads: number;
  mergesAllHeads: number;
}

export interface KvFigures {
  policy: string;
  context: number;
  kvHeads: number;
  layers: LayerFigures[];
  /** Means over layers. */
  held: number;
  evicted: number;
  merged: number;
  /** The largest and smallest layer budget (null: no layer compressed). */
  budgetMax: number | null;
  budgetMin: number | null;
  /** K and V bytes of the positions held, and of the full cache for the same context. */
  bytesHeld: number;
  bytesFull: number;
  /** What the GPU (or CPU) allocates for the cache now, and what a full cache allocates for this context. */
  bytesAllocated: number;
  bytesFullAllocated: number;
  /** Every layer holds the whole context: nothing evicted yet (or a full cache). */
  nothingEvicted: boolean;
}

export function kvFigures(s: KvStats): KvFigures {
  const n = s.sequenceLength;
  const heads = Math.max(1, s.kvHeads);
  const layers = s.layers.map((l, i) => ({
    layer: i,
    budget: l.budget,
    held: l.occupancy,
    evicted: l.evictions / heads,
    merged: l.merges / heads,
    evictionsAllHeads: l.evictions,
    mergesAllHeads: l.merges,
  }));
  const mean = (f: (l: LayerFigures) => number) => (layers.length ? layers.reduce((a, l) => a + f(l), 0) / layers.length : 0);
  const budgets = layers.map((l) => l.budget).filter((b): b is number => b !== null);
  const held = mean((l) => l.held);
  // Per position and layer, a full cache stores bytesFull / (layers * context).
  const perPositionLayer = n > 0 && layers.length ? s.bytesFull / (n * layers.length) : 0;
  return {
    policy: s.policy,
    context: n,
    kvHeads: heads,
    layers,
    held,
    evicted: mean((l) => l.evicted),
    merged: mean((l) => l.merged),
    budgetMax: budgets.length ? Math.max(...budgets) : null,
    budgetMin: budgets.length ? Math.min(...budgets) : null,
    bytesHeld: held * layers.length * perPositionLayer,
    bytesFull: s.bytesFull,
    bytesAllocated: s.bytesAllocated,
    bytesFullAllocated: s.bytesFullAllocated,
    nothingEvicted: layers.every((l) => l.evicted === 0),
  };
}

/** Positions held per layer as the map counts them: each kept position weighs the share of KV heads that hold it. */
export function mapHeld(m: KvMap): number[] {
  const heads = Math.max(1, m.kvHeads);
  return m.layers.map((l) => l.keptHeads.reduce((a, b) => a + b, 0) / heads);
}

/** A per-layer count as people read it: whole numbers as they are, head averages to one decimal. */
export function formatPositions(x: number): string {
  if (!Number.isFinite(x)) return '–';
  return Number.isInteger(x) ? x.toLocaleString('en-US') : x.toLocaleString('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
}

export function percent(part: number, whole: number): string {
  if (!(whole > 0)) return '–';
  const p = (100 * part) / whole;
  return `${p > 0 && p < 1 ? '<1' : Math.round(p)}%`;
}
