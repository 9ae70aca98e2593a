/** KV statistics on the CPU reference add up (see test/cases/kv-stats.ts; the GPU route in test/gpu-node/kv-stats.test.ts). */
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/cpu/backend';
import { loadModel } from '../../src/model/load';
import { resolvePolicy, type KvOptions } from '../../src/kv/policy';
import { golden, tinystories656k } from '../helpers/models';
import { runStats } from '../cases/kv-stats';

const prompt = golden['tinystories-656k'].greedy_ids.slice(0, 30);

describe('KV statistics that add up (CPU reference, TinyStories-656K)', () => {
  for (const kv of [
    { policy: 'd2o', budget: { kind: 'tokens', tokens: 16 } },
    { policy: 'h2o', budget: { kind: 'tokens', tokens: 16 } },
    { policy: 'full' },
  ] as KvOptions[]) {
    it(`${kv.policy}: held + evicted = context per layer, the map counts what the stats count`, async () => {
      const model = await loadModel(tinystories656k.dir);
      const r = await runStats(new CpuBackend(model, { policy: resolvePolicy(kv) }), prompt, 50);
      expect(r.violations).toEqual([]);
      if (kv.policy === 'full') {
        expect(r.evicted).toBe(0);
        // A full cache's own allocation is its own figure at every length.
        for (const f of r.fullAllocated) expect(f.bytes, `at ${f.sequenceLength}`).toBe(f.allocated);
      } else {
        expect(r.evicted).toBeGreaterThan(0);
        if (kv.policy === 'd2o') expect(r.merged).toBeGreaterThan(0);
      }
    });
  }

  it('the full cache allocation a compressed cache is compared with is what a full cache allocates', async () => {
    const model = await loadModel(tinystories656k.dir);
    const [d2o, full] = await Promise.all([
      runStats(new CpuBackend(model, { policy: resolvePolicy({ policy: 'd2o', budget: { kind: 'tokens', tokens: 16 } }) }), prompt, 50, 10),
      runStats(new CpuBackend(model, { policy: resolvePolicy({ policy: 'full' }) }), prompt, 50, 10),
    ]);
    expect(d2o.fullAllocated.map((f) => f.bytes)).toEqual(full.fullAllocated.map((f) => f.allocated));
    // Under a budget the allocation stops following the context.
    expect(d2o.fullAllocated.at(-1)!.allocated).toBeLessThan(d2o.fullAllocated.at(-1)!.bytes);
  });
});
