/** KV statistics on the GPU add up (see test/cases/kv-stats.ts; the CPU reference in test/unit/kv-stats.test.ts). */
import { describe, expect, it } from 'vitest';
import { getTestDevice } from '../helpers/gpu';
import { golden, tinystories656k } from '../helpers/models';
import { loadModel } from '../../src/model/load';
import { WebGpuBackend } from '../../src/gpu/backend';
import { resolvePolicy } from '../../src/kv/policy';
import { runStats } from '../cases/kv-stats';

const prompt = golden['tinystories-656k'].greedy_ids.slice(0, 30);

describe('KV statistics that add up (WebGPU, TinyStories-656K)', () => {
  it('d2o and full: held + evicted = context per layer, the map counts what the stats count, full allocation as a full cache reports it', async () => {
    const ctx = await getTestDevice();
    const model = await loadModel(tinystories656k.dir);
    const d2o = await WebGpuBackend.create(model, { ctx, policy: resolvePolicy({ policy: 'd2o', budget: { kind: 'tokens', tokens: 16 } }) });
    const full = await WebGpuBackend.create(model, { ctx, policy: resolvePolicy({ policy: 'full' }) });
    try {
      // Past the initial 64 slots, so the full cache's pools grow.
      const [a, b] = [await runStats(d2o, prompt, 80, 10), await runStats(full, prompt, 80, 10)];
      expect(a.violations).toEqual([]);
      expect(b.violations).toEqual([]);
      expect(a.evicted).toBeGreaterThan(0);
      expect(a.merged).toBeGreaterThan(0);
      expect(b.evicted).toBe(0);
      for (const f of b.fullAllocated) expect(f.bytes, `at ${f.sequenceLength}`).toBe(f.allocated);
      expect(a.fullAllocated.map((f) => f.bytes)).toEqual(b.fullAllocated.map((f) => f.allocated));
      expect(new Set(b.fullAllocated.map((f) => f.allocated)).size).toBeGreaterThan(1);
    } finally {
      d2o.dispose();
      full.dispose();
    }
  });
});
