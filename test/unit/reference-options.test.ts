/**
 * The options that bring the official D2O code's behaviour within reach (README, "Departures from
 * the official implementation"): the merge decided on the mean over heads, and layers 0, 1 and L - 1
 * protected. The GPU is checked against this reference in test/gpu-node/policy.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { meanDecision } from '../../src/cpu/kv-policy';
import { CpuBackend } from '../../src/cpu/backend';
import { layerBudgets, protectedLayersOf } from '../../src/kv/budgets';
import { resolvePolicy, type KvOptions } from '../../src/kv/policy';
import { resolveSampling } from '../../src/backend/sampling';
import { loadModel } from '../../src/model/load';
import { golden, stories260K } from '../helpers/models';

describe("mergeDecision: 'mean'", () => {
  // Two KV heads, one victim each: head 0's is close to a kept token (0.9), head 1's is not (0.1).
  const sims = [[{ u: 0.9, c: 3 }], [{ u: 0.1, c: 5 }]];

  it('compares the mean over heads of the k-th victims with tau, and decides for every head alike', () => {
    // Mean 0.5: below 0.6 nobody merges (head 0 alone would), above 0.4 both do (head 1 alone would not).
    expect(meanDecision(sims, 0.6)).toEqual([[false], [false]]);
    expect(meanDecision(sims, 0.4)).toEqual([[true], [true]]);
  });

  it('pairs victims by their index, and a victim with no kept token never merges nor counts', () => {
    const two = [[{ u: 0.9, c: 3 }, { u: 0.2, c: 4 }], [{ u: 0.7, c: 5 }, { u: -Infinity, c: -1 }]];
    // k = 0: mean 0.8; k = 1: only head 0's 0.2 counts.
    expect(meanDecision(two, 0.5)).toEqual([[true, false], [true, false]]);
    expect(meanDecision(two, 0.15)).toEqual([[true, true], [true, false]]);
  });

  it("is 'head' by default, and only 'head' or 'mean' are accepted", () => {
    expect(resolvePolicy({ policy: 'd2o' }).mergeDecision).toBe('head');
    expect(resolvePolicy({ policy: 'd2o', mergeDecision: 'mean' }).mergeDecision).toBe('mean');
    expect(() => resolvePolicy({ policy: 'd2o', mergeDecision: 'max' as never })).toThrow(/mergeDecision must be 'head' or 'mean'/);
  });

  it('changes what a real run merges (the same evictions, other merges)', async () => {
    const model = await loadModel(stories260K.bin);
    const run = async (kv: KvOptions) => {
      const b = new CpuBackend(model, { policy: resolvePolicy(kv) });
      const greedy = resolveSampling({ greedy: true });
      let id = await b.append(golden.stories260K.greedy_ids.slice(0, 40), greedy, 0);
      for (let step = 1; step < 80; step++) id = await b.append([id], greedy, step);
      const s = await b.kvStats();
      return { evictions: s.layers.map((l) => l.evictions), merges: s.layers.map((l) => l.merges) };
    };
    const head = await run({ policy: 'd2o-uniform', budget: 16 });
    const mean = await run({ policy: 'd2o-uniform', budget: 16, mergeDecision: 'mean' });
    expect(mean.merges.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(mean.merges).not.toEqual(head.merges);
  });
});

describe("protectedLayers: 'reference'", () => {
  it('is layers 0, 1 and L - 1 of the model it runs on', () => {
    const p = resolvePolicy({ policy: 'd2o', protectedLayers: 'reference' });
    expect(protectedLayersOf(p, 5)).toEqual([0, 1, 4]);
    expect(protectedLayersOf(p, 2)).toEqual([0, 1]);
    expect(protectedLayersOf(resolvePolicy({ policy: 'd2o', protectedLayers: [3] }), 5)).toEqual([3]);
    expect(() => resolvePolicy({ policy: 'd2o', protectedLayers: 'all' as never })).toThrow(/protectedLayers must be/);
  });

  it('leaves those layers uncompressed and budgets the others', () => {
    const p = resolvePolicy({ policy: 'd2o-uniform', budget: 32, protectedLayers: 'reference' });
    expect(layerBudgets(p, 6, 100, null).map((b) => b.compress)).toEqual([false, false, true, true, true, false]);
  });
});
