/**
 * The CPU reference of every KV policy (d2o-spec.md sections 2-4): budgets from the first
 * prefill's attention variance, eviction by cumulative score with sinks and a recent window
 * protected, and merging of evicted tokens into their most similar kept token.
 */
import { SINKS, type ResolvedPolicy } from '../kv/policy';
import { columnVariance, layerBudgets, layerVarianceValue, type LayerBudget } from '../kv/budgets';
import type { LayerCounters } from '../kv/stats';
import type { CpuKvCache, HeadSlots } from './kv-cache';

export class CpuKvPolicy {
  budgets: LayerBudget[] | null = null;
  readonly stats: LayerCounters[];
  /** Per layer and query head, the column sums of the first prefill (d2o only). */
  colsum: number[][][] | null;
  /** Per layer: the per-head variances and the layer value v_l, once computed. */
  variances: number[][] | null = null;

  constructor(
    readonly p: ResolvedPolicy,
    readonly numLayers: number,
    readonly numHeads: number,
  ) {
    this.stats = Array.from({ length: numLayers }, () => ({ evictions: 0, merges: 0, tau: null }));
    this.colsum = p.varianceBudgets ? Array.from({ length: numLayers }, () => Array.from({ length: numHeads }, () => [])) : null;
  }

  /**
   * Fixes the budgets before the first compression; `nFirst` is the prompt's length + 1 (what the
   * cache holds at the first decode step), `colsumLength` the keys the column sums cover.
   */
  setBudgets(nFirst: number, colsumLength: number): void {
    let values: number[] | null = null;
    if (this.colsum) {
      this.variances = this.colsum.map((heads) => heads.map((c) => columnVariance(Float64Array.from({ length: colsumLength }, (_, j) => c[j] ?? 0), colsumLength)));
      values = this.variances.map(layerVarianceValue);
    }
    this.budgets = layerBudgets(this.p, this.numLayers, nFirst, values);
    this.colsum = null;
  }

  /** Evicts (and merges) down to the budget in every layer; `len` is the sequence length so far. */
  compress(cache: CpuKvCache, len: number): void {
    if (!this.budgets) throw new Error('budgets are set after the first prefill');
    for (let l = 0; l < this.numLayers; l++) {
      const b = this.budgets[l];
      if (!b.compress) continue;
      const perHead = cache.heads[l].map((slots) => ({ slots, victims: selectVictims(slots, b, len, this.p.streaming) }));
      const evicted = perHead.reduce((s, h) => s + h.victims.length, 0);
      if (evicted === 0) continue;
      const st = this.stats[l];
      st.evictions += evicted;
      if (this.p.merge) {
        const sims = perHead.map((h) => h.victims.map((e) => mostSimilar(h.slots, e, h.victims)));
        const all = sims.flat();
        const mean = all.reduce((s, x) => s + x.u, 0) / all.length;
        st.tau = st.tau === null ? mean : this.p.alpha * st.tau + this.p.beta * mean;
        const tau = st.tau;
        const accept = this.p.mergeDecision === 'mean' ? meanDecision(sims, tau) : null;
        perHead.forEach((h, i) => (st.merges += merge(h.slots, h.victims, sims[i], tau, accept?.[i])));
      }
      for (const h of perHead) for (const e of h.victims) h.slots.free(e);
    }
  }
}

/**
 * Victims of one head: the lowest-scoring candidates (ties: lowest slot), where candidates are the
 * live tokens outside the sinks and the recent window. StreamingLLM evicts the oldest instead.
 */
export function selectVictims(slots: HeadSlots, b: LayerBudget, len: number, streaming: boolean): number[] {
  const live = slots.occupied();
  const excess = live.length - (b.hh + b.recent);
  if (excess <= 0) return [];
  const candidates = live.filter((s) => slots.pos[s] >= SINKS && slots.pos[s] < len - b.recent);
  const key = (s: number) => (streaming ? slots.pos[s] : slots.score[s]);
  candidates.sort((a, c) => key(a) - key(c) || a - c);
  return candidates.slice(0, excess).sort((a, c) => a - c);
}

/** max over kept c of cos(k_e, k_c) and its argmax (ties: lowest slot); keys as cached (post-RoPE). */
export function mostSimilar(slots: HeadSlots, e: number, victims: number[]): { u: number; c: number } {
  const hd = slots.headDim;
  const ke = slots.keys.subarray(e * hd, (e + 1) * hd);
  let ne = 0;
  for (let i = 0; i < hd; i++) ne += ke[i] * ke[i];
  let best = { u: -Infinity, c: -1 };
  for (const c of slots.occupied()) {
    if (victims.includes(c)) continue;
    let dot = 0;
    let nc = 0;
    for (let i = 0; i < hd; i++) {
      dot += ke[i] * slots.keys[c * hd + i];
      nc += slots.keys[c * hd + i] ** 2;
    }
    const u = dot / Math.max(Math.sqrt(ne) * Math.sqrt(nc), 1e-12);
    if (u > best.u) best = { u, c };
  }
  return best;
}

/**
 * The official code's decision: the k-th victims of the layer's KV heads (in slot order, as both
 * sides keep them; a decode step evicts one per head) merge, each into its own most similar kept
 * token, when the mean over heads of their best similarities passes tau.
 */
export function meanDecision(sims: { u: number; c: number }[][], tau: number): boolean[][] {
  const sum: number[] = [];
  const count: number[] = [];
  for (const head of sims)
    head.forEach((x, k) => {
      if (x.c < 0) return;
      sum[k] = Math.fround((sum[k] ?? 0) + x.u);
      count[k] = (count[k] ?? 0) + 1;
    });
  return sims.map((head) => head.map((x, k) => x.c >= 0 && sum[k] / count[k] >= tau));
}

/**
 * k_c = (k_c + sum u_e k_e) / (1 + |M_c|) for the accepted victims (default: u_e >= tau, the
 * per-head decision), and likewise v. Returns the merge count.
 */
export function merge(slots: HeadSlots, victims: number[], sims: { u: number; c: number }[], tau: number, accept = sims.map((s) => s.u >= tau)): number {
  const hd = slots.headDim;
  const groups = new Map<number, number[]>();
  victims.forEach((e, i) => {
    if (sims[i].c >= 0 && accept[i]) groups.set(sims[i].c, [...(groups.get(sims[i].c) ?? []), i]);
  });
  for (const [c, members] of groups) {
    slots.absorbed[c] += members.length;
    for (const buf of [slots.keys, slots.values]) {
      for (let d = 0; d < hd; d++) {
        let acc = buf[c * hd + d];
        for (const i of members) acc += sims[i].u * buf[victims[i] * hd + d];
        // Stored rounded to the cache's dtype, as the GPU stores its float32 result.
        buf[c * hd + d] = slots.round(Math.fround(acc / (1 + members.length)));
      }
    }
  }
  return [...groups.values()].reduce((s, m) => s + m.length, 0);
}
