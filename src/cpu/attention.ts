/** Reference GQA attention of one KV head's query group over its slot table, with score accumulation. */
import type { HeadSlots } from './kv-cache';

/**
 * For the `group` query heads in `q` (group * headDim) at position `pos`, writes the attention
 * output to `out` (group * headDim) and adds each visible slot's probability to its score, and,
 * when `colsum` is given, to colsum[g][position] (per query head, for the prefill variance).
 */
export function attendGroup(slots: HeadSlots, q: Float32Array, out: Float32Array, group: number, pos: number, slidingWindow: number | null, colsum?: number[][]): void {
  const hd = slots.headDim;
  const scale = 1 / Math.sqrt(hd);
  const visible = slots.occupied().filter((s) => slots.pos[s] <= pos && (slidingWindow === null || slots.pos[s] > pos - slidingWindow));
  const att = new Float64Array(visible.length);
  for (let g = 0; g < group; g++) {
    let max = -Infinity;
    for (let t = 0; t < visible.length; t++) {
      const kb = visible[t] * hd;
      let dot = 0;
      for (let i = 0; i < hd; i++) dot += q[g * hd + i] * slots.keys[kb + i];
      att[t] = dot * scale;
      if (att[t] > max) max = att[t];
    }
    let sum = 0;
    for (let t = 0; t < visible.length; t++) sum += att[t] = Math.exp(att[t] - max);
    const acc = new Float64Array(hd);
    for (let t = 0; t < visible.length; t++) {
      const p = att[t] / sum;
      slots.score[visible[t]] += p;
      if (colsum) colsum[g][slots.pos[visible[t]]] = (colsum[g][slots.pos[visible[t]]] ?? 0) + p;
      const vb = visible[t] * hd;
      for (let i = 0; i < hd; i++) acc[i] += p * slots.values[vb + i];
    }
    out.set(acc, g * hd);
  }
}

export interface ChunkOptions {
  numHeads: number;
  /** Queries in the chunk (T). */
  tokens: number;
  /** Position of the chunk's first query. */
  pos0: number;
  slidingWindow: number | null;
  /** colsum[head][position] += p, per query head (the first prefill's column sums). */
  colsum?: number[][];
}

/**
 * Reference attention of a chunk of T queries at positions pos0..pos0+T-1 over per-KV-head slot
 * tables (`heads[kvHead]`) that already hold the chunk's keys: q and out are [T, numHeads, headDim].
 * Equal to the forward pass's token-by-token append-then-attend, since a query never sees a later
 * position. Scores accumulate as in `attendGroup`.
 */
export function attendChunk(heads: HeadSlots[], q: Float32Array, out: Float32Array, o: ChunkOptions): void {
  const hd = heads[0].headDim;
  const group = o.numHeads / heads.length;
  for (let t = 0; t < o.tokens; t++)
    heads.forEach((slots, kvh) => {
      const off = (t * o.numHeads + kvh * group) * hd;
      attendGroup(slots, q.subarray(off, off + group * hd), out.subarray(off, off + group * hd), group, o.pos0 + t, o.slidingWindow, o.colsum?.slice(kvh * group, (kvh + 1) * group));
    });
}
