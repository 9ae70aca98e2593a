/**
 * Hand-built cases for the rules of d2o-spec.md on the CPU reference (the GPU is checked against
 * this reference step by step in test/gpu-node/policy.test.ts and the browser suite).
 */
import { describe, expect, it } from 'vitest';
import { CpuKvCache, HeadSlots } from '../../src/cpu/kv-cache';
import { CpuKvPolicy, merge, mostSimilar, selectVictims } from '../../src/cpu/kv-policy';
import { CpuBackend } from '../../src/cpu/backend';
import { layerBudgets, layerWeights } from '../../src/kv/budgets';
import { parseBudget, resolvePolicy, SINKS } from '../../src/kv/policy';
import { resolveSampling } from '../../src/backend/sampling';
import { loadModel } from '../../src/model/load';
import { golden, tinystories656k } from '../helpers/models';

/** A head holding positions 0..n-1 with the given scores and keys (values = 10 * keys). */
function head(scores: number[], key: (pos: number) => number[]): HeadSlots {
  const hd = key(0).length;
  const h = new HeadSlots(hd);
  scores.forEach((s, pos) => {
    const k = Float32Array.from(key(pos));
    const slot = h.append(k, k.map((x) => 10 * x), pos);
    h.score[slot] = s;
  });
  return h;
}

describe('victim selection', () => {
  it('never evicts the sinks or the recent window, and takes the lowest scores among the rest', () => {
    // The sinks and the recent window hold the lowest scores of all: a rule that ignored them would pick them.
    const scores = [0, 0, 0, 0, 5, 1, 7, 2, 9, 3, 8, 4, 6, 0, 0, 0];
    const h = head(scores, (p) => [p, 1]);
    const victims = selectVictims(h, { hh: 6, recent: 3, compress: true }, 16, false);
    // 16 live, budget 9: seven go, from positions 4..12 by score: 5(1) 7(2) 9(3) 11(4) 4(5) 12(6) 6(7).
    expect(victims).toEqual([4, 5, 6, 7, 9, 11, 12]);
    for (const v of victims) expect(h.pos[v] >= SINKS && h.pos[v] < 16 - 3).toBe(true);
  });

  it('breaks score ties by the lowest slot and evicts nothing under budget', () => {
    const h = head([1, 1, 1, 1, 2, 2, 2, 2, 2, 1], () => [1, 0]);
    expect(selectVictims(h, { hh: 7, recent: 1, compress: true }, 10, false)).toEqual([4, 5]);
    expect(selectVictims(h, { hh: 9, recent: 1, compress: true }, 10, false)).toEqual([]);
  });

  it('StreamingLLM evicts the oldest non-sink tokens whatever their scores', () => {
    const h = head([0, 0, 0, 0, 9, 9, 0, 0, 0, 0], (p) => [p, 1]);
    expect(selectVictims(h, { hh: SINKS, recent: 4, compress: true }, 10, true)).toEqual([4, 5]);
  });
});

describe('merging', () => {
  // Keys at angles: a victim close to kept slot A (cos 0.99) and one far from everything (cos 0.1).
  const angle = (t: number) => [Math.cos(t), Math.sin(t)];
  const keys = [angle(0), angle(0), angle(0), angle(0), angle(1.5), angle(1.5 + Math.acos(0.99)), angle(-Math.acos(0.1) + 0), angle(3)];

  it('finds the most similar kept key by cosine', () => {
    const h = head([9, 9, 9, 9, 9, 0, 0, 9], (p) => keys[p]);
    const m = mostSimilar(h, 5, [5, 6]);
    expect(m.c).toBe(4);
    expect(m.u).toBeCloseTo(0.99, 6);
  });

  it('merges a victim above the threshold with the exact weighted mean and drops one below it', () => {
    const h = head([9, 9, 9, 9, 9, 0, 0, 9], (p) => keys[p]);
    const victims = [5, 6];
    const sims = victims.map((e) => mostSimilar(h, e, victims));
    const kc = Array.from(h.keys.subarray(8, 10));
    const vc = Array.from(h.values.subarray(8, 10));
    const ke = Array.from(h.keys.subarray(10, 12));
    const ve = Array.from(h.values.subarray(10, 12));
    const untouched = Array.from(h.keys);
    const n = merge(h, victims, sims, 0.5);
    expect(n).toBe(1);
    expect(Array.from(h.absorbed.subarray(0, 8))).toEqual([0, 0, 0, 0, 1, 0, 0, 0]);
    const u = sims[0].u;
    for (let d = 0; d < 2; d++) {
      expect(h.keys[8 + d]).toBeCloseTo((kc[d] + u * ke[d]) / 2, 6);
      expect(h.values[8 + d]).toBeCloseTo((vc[d] + u * ve[d]) / 2, 5);
    }
    // The victim below the threshold changed nothing anywhere else.
    untouched.forEach((x, i) => {
      if (i < 8 || i >= 10) expect(h.keys[i]).toBe(x);
    });
  });

  it('divides by one plus the number of victims merged into the same slot', () => {
    const h = head([9, 9, 9, 9, 9, 0, 0, 9], (p) => (p === 6 ? keys[5] : keys[p]));
    const victims = [5, 6];
    const sims = victims.map((e) => mostSimilar(h, e, victims));
    const kc = Array.from(h.keys.subarray(8, 10));
    const ke = Array.from(h.keys.subarray(10, 12));
    expect(merge(h, victims, sims, 0.5)).toBe(2);
    expect(h.absorbed[4]).toBe(2);
    h.free(4);
    expect(h.absorbed[4]).toBe(0);
    for (let d = 0; d < 2; d++) expect(h.keys[8 + d]).toBeCloseTo((kc[d] + 2 * sims[0].u * ke[d]) / 3, 6);
  });

  it('sets tau to the first mean similarity, then follows the EMA, and frees every victim', () => {
    const p = resolvePolicy({ policy: 'd2o', budget: { kind: 'tokens', tokens: 6 }, alpha: 0.5, beta: 0.5 });
    const policy = new CpuKvPolicy(p, 1, 1);
    const cache = new CpuKvCache(1, 1, 2);
    cache.heads[0][0] = head([9, 9, 9, 9, 9, 0, 0, 9], (q) => keys[q]);
    policy.budgets = [{ hh: 5, recent: 1, compress: true }];
    const sims = [5, 6].map((e) => mostSimilar(cache.heads[0][0], e, [5, 6]));
    policy.compress(cache, 8);
    const tau1 = (sims[0].u + sims[1].u) / 2;
    expect(policy.stats[0].tau).toBeCloseTo(tau1, 6);
    expect(policy.stats[0]).toMatchObject({ evictions: 2, merges: 1 });
    expect(cache.heads[0][0].occupied()).toEqual([0, 1, 2, 3, 4, 7]);
    // Next step: one new token and one more victim (position 4, its score zeroed).
    cache.heads[0][0].append(Float32Array.from(angle(0)), Float32Array.from([0, 0]), 8);
    cache.heads[0][0].score[4] = 0;
    const s2 = mostSimilar(cache.heads[0][0], 4, [4]);
    policy.compress(cache, 9);
    expect(policy.stats[0].tau).toBeCloseTo(0.5 * tau1 + 0.5 * s2.u, 6);
    expect(policy.stats[0].evictions).toBe(3);
  });
});

describe('layer budgets', () => {
  const L = 6;
  const v = [0.1, 0.5, 0.3, 0.9, 0.2, 0.4];

  it('softmax(-v): flatter layers get more, and the weights sum to one', () => {
    const w = layerWeights(v);
    expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(w[0]).toBeGreaterThan(w[3]);
  });

  it('ratio mode: budgets sum to L * n * rho before clamping (within the floors)', () => {
    const p = resolvePolicy({ policy: 'd2o', budget: parseBudget('20%') });
    const n = 1001;
    const b = layerBudgets(p, L, n, v);
    const total = b.reduce((s, x) => s + x.hh + x.recent, 0);
    expect(total).toBeLessThanOrEqual(L * n * 0.2 + 1e-9);
    expect(total).toBeGreaterThan(L * n * 0.2 - 2 * L);
    // Heavy hitters and recent split evenly (0.1 + 0.1) in every layer.
    for (const x of b) expect(Math.abs(x.hh - x.recent)).toBeLessThanOrEqual(1);
    expect(new Set(b.map((x) => x.hh + x.recent)).size).toBeGreaterThan(1);
  });

  it('ratio mode clamps r_l to [0.01, 1]', () => {
    const p = resolvePolicy({ policy: 'd2o', budget: parseBudget('90%') });
    const b = layerBudgets(p, L, 1000, [0, 50, 50, 50, 50, 50]);
    // Layer 0 takes nearly all the weight: w * L * rho > 1 is clamped to the whole cache, and the
    // others' near-zero share to 1 %.
    expect(b[0].hh + b[0].recent).toBe(1000);
    for (const x of b.slice(1)) expect(x).toEqual({ hh: 5, recent: 5, compress: true });
  });

  it('absolute mode: budgets sum to L * tokens (within rounding) whatever the prompt length', () => {
    const p = resolvePolicy({ policy: 'd2o', budget: parseBudget('64') });
    for (const n of [100, 5000]) {
      const b = layerBudgets(p, L, n, v);
      const total = b.reduce((s, x) => s + x.hh + x.recent, 0);
      expect(Math.abs(total - L * 64)).toBeLessThanOrEqual(L);
    }
  });

  it('uniform budgets ignore the variances; protected layers are never compressed', () => {
    const p = resolvePolicy({ policy: 'd2o-uniform', budget: parseBudget('32'), protectedLayers: [0, 5] });
    const policy = new CpuKvPolicy(p, L, 1);
    policy.setBudgets(500, 499);
    const b = policy.budgets!;
    expect(b[0].compress).toBe(false);
    expect(b[5].compress).toBe(false);
    for (const x of b.slice(1, 5)) expect(x).toEqual({ hh: 16, recent: 16, compress: true });
  });

  it('pyramidkv: budgets fall linearly with depth and still sum to L * tokens', () => {
    const p = resolvePolicy({ policy: 'pyramidkv', budget: parseBudget('64') });
    const policy = new CpuKvPolicy(p, L, 1);
    policy.setBudgets(500, 499);
    const totals = policy.budgets!.map((b) => b.hh + b.recent);
    for (let l = 1; l < L; l++) expect(totals[l]).toBeLessThan(totals[l - 1]);
    expect(Math.abs(totals.reduce((a, b) => a + b, 0) - L * 64)).toBeLessThanOrEqual(L);
    expect(p).toMatchObject({ merge: false, varianceBudgets: false, pyramid: true });
  });

  it('a share of heavy hitters below the sinks grows to hold them (they are never evicted)', () => {
    const p = resolvePolicy({ policy: 'h2o', budget: parseBudget('20%') });
    // 20 % of 21 tokens: 2 heavy hitters and 2 recent, but the 4 sinks stay: 4 + 1.
    expect(layerBudgets(p, 1, 21, null)).toEqual([{ hh: 4, recent: 1, compress: true }]);
  });

  it('rejects budgets that cannot work', () => {
    expect(() => parseBudget('ten')).toThrow(RangeError);
    expect(() => resolvePolicy({ policy: 'd2o', budget: parseBudget('0%') })).toThrow(RangeError);
    expect(() => resolvePolicy({ policy: 'd2o', budget: parseBudget('3') })).toThrow(RangeError);
  });
});

describe('protected layers in a real run', () => {
  it('keep every token while the other layers stay within budget', async () => {
    const model = await loadModel(tinystories656k.dir);
    const L = model.config.numLayers;
    const cpu = new CpuBackend(model, { policy: resolvePolicy({ policy: 'd2o', budget: { kind: 'tokens', tokens: 16 }, protectedLayers: [0, L - 1] }) });
    const greedy = resolveSampling({ greedy: true });
    const ids = golden['tinystories-656k'].greedy_ids;
    let next = await cpu.append(ids.slice(0, 30), greedy, 0);
    for (let step = 1; step <= 60; step++) next = await cpu.append([next], greedy, step);
    const stats = await cpu.kvStats();
    for (const l of [0, L - 1]) expect(stats.layers[l]).toMatchObject({ budget: null, occupancy: 90, evictions: 0, merges: 0 });
    for (let l = 1; l < L - 1; l++) {
      expect(stats.layers[l].evictions).toBeGreaterThan(0);
      expect(stats.layers[l].occupancy).toBeLessThanOrEqual(stats.layers[l].budget!);
    }
  });
});
