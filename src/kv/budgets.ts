/** Layer-level budgets (d2o-spec.md section 2), computed once after the first prefill. */
import { SINKS, type ResolvedPolicy } from './policy';

export interface LayerBudget {
  /** Heavy hitters kept (sinks included), and the recent window. */
  hh: number;
  recent: number;
  /** false for protected layers and the full cache: nothing is evicted. */
  compress: boolean;
}

/** v_l from the per-head variances of one layer: min-max normalised across heads, then averaged. */
export function layerVarianceValue(headVariances: ArrayLike<number>): number {
  const v = Array.from(headVariances);
  const min = Math.min(...v);
  const max = Math.max(...v);
  return v.reduce((s, x) => s + (x - min) / (max - min + 1e-6), 0) / v.length;
}

/** Unbiased variance (torch's default) of one head's column sums over the prompt's n keys. */
export function columnVariance(colsum: ArrayLike<number>, n: number): number {
  let mean = 0;
  for (let j = 0; j < n; j++) mean += colsum[j];
  mean /= n;
  let ss = 0;
  for (let j = 0; j < n; j++) ss += (colsum[j] - mean) ** 2;
  return n > 1 ? ss / (n - 1) : 0;
}

/** softmax(-v): flatter (lower-variance) layers get more. */
export function layerWeights(v: number[]): number[] {
  const m = Math.max(...v.map((x) => -x));
  const e = v.map((x) => Math.exp(-x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

/** PyramidKV's shape: weights falling linearly with depth, (2(L - l) - 1) / L^2, summing to one. */
export function pyramidWeights(L: number): number[] {
  return Array.from({ length: L }, (_, l) => (2 * (L - l) - 1) / (L * L));
}

/** The layers a policy never compresses, on a model of `numLayers` layers. */
export function protectedLayersOf(p: Pick<ResolvedPolicy, 'protectedLayers'>, numLayers: number): number[] {
  return p.protectedLayers === 'reference' ? [...new Set([0, 1, numLayers - 1])].filter((l) => l >= 0 && l < numLayers) : p.protectedLayers;
}

/**
 * Budgets per layer. `layerValues` are the v_l (null for uniform budgets); `nFirst` is the cache
 * length at the first decode step (prompt + 1).
 */
export function layerBudgets(p: ResolvedPolicy, numLayers: number, nFirst: number, layerValues: number[] | null): LayerBudget[] {
  const L = numLayers;
  const w = layerValues ? layerWeights(layerValues) : p.pyramid ? pyramidWeights(L) : Array<number>(L).fill(1 / L);
  const rho = p.hhRatio + p.recentRatio;
  const protectedSet = protectedLayersOf(p, L);
  return w.map((wl, l) => {
    if (!p.evicts || protectedSet.includes(l)) return { hh: Number.MAX_SAFE_INTEGER, recent: 0, compress: false };
    let hh: number;
    let recent: number;
    if (p.budget.kind === 'ratio') {
      const r = Math.min(1, Math.max(0.01, wl * L * rho));
      hh = Math.floor((nFirst * r * p.hhRatio) / rho);
      recent = Math.floor((nFirst * r * p.recentRatio) / rho);
    } else {
      // Absolute mode: the same weights share out L * tokens, so memory is capped whatever the
      // prompt; one layer gets at most twice the average (the cache is sized for that).
      const total = Math.min(2 * p.budget.tokens, Math.max(SINKS + 1, Math.round(wl * L * p.budget.tokens)));
      hh = Math.floor((total * p.hhRatio) / rho);
      recent = total - hh;
    }
    // StreamingLLM keeps the sinks and the newest tokens only.
    if (p.streaming) {
      recent = Math.max(0, hh + recent - SINKS);
      hh = SINKS;
    } else if (hh < SINKS) {
      // The sinks are never evicted, so they are heavy hitters: a smaller share could not be held.
      recent = Math.max(1, recent - (SINKS - hh));
      hh = SINKS;
    }
    return { hh: Math.max(hh, 0), recent: Math.max(recent, 1), compress: true };
  });
}
