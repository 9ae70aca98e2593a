/**
 * KV memory on the GPU: what the cache and the policy allocate follows the budget plus one chunk
 * (at SmolLM2-135M's KV shape, no weights needed), and the full cache grows until the device
 * refuses memory, which is a ContextOverflowError naming the limit that leaves the conversation as
 * it was.
 */
import { describe, expect, it } from 'vitest';
import { getTestDevice } from '../helpers/gpu';
import { golden, tinystories656k } from '../helpers/models';
import { GpuKvCache } from '../../src/gpu/kv-cache';
import { GpuKvPolicy } from '../../src/gpu/kv-policy';
import { StepParams } from '../../src/gpu/step-params';
import { resolvePolicy } from '../../src/kv/policy';
import { layerBudgets } from '../../src/kv/budgets';
import { fullCacheBytes } from '../../src/kv/stats';
import { createEngine } from '../../src/engine/engine';
import { ContextOverflowError } from '../../src/errors';
import type { KvDtype } from '../../src/kv/dtype';

// SmolLM2-135M: 30 layers, 9 query heads over 3 KV heads of 64.
const smollm2 = { numLayers: 30, numHeads: 9, numKvHeads: 3, headDim: 64 };

describe('KV memory follows the budget plus one chunk (SmolLM2-135M shape, d2o, 256 tokens, chunks of 512)', () => {
  it.each([
    ['f16', 'uniform'],
    ['f32', 'uniform'],
    ['f16', 'spread'],
  ] as [KvDtype, string][])('%s K/V, %s layer budgets: cache and policy within 1.15x of the K/V of 256 + 512 tokens per layer', async (dtype, budgets) => {
    const { device } = await getTestDevice();
    const p = resolvePolicy({ policy: 'd2o', budget: 256 });
    const cache = new GpuKvCache(device, { ...smollm2, capacity: Infinity, initialSlots: 64, dtype });
    const step = new StepParams(device);
    const policy = new GpuKvPolicy(device, p, cache, smollm2.numHeads, step.buffer, 512);
    try {
      // A first chunk of 512, then the budgets: from the (empty) column sums every layer weighs the
      // same; "spread" gives them budgets 1.8x apart, as layer variances do.
      await cache.ensure(Array(smollm2.numLayers).fill(512));
      await policy.setBudgets(20_001, 512);
      if (budgets === 'spread') {
        policy.budgets = layerBudgets(p, smollm2.numLayers, 20_001, Array.from({ length: smollm2.numLayers }, (_, l) => (l % 3) * 0.3));
        cache.setLayerLimits(policy.layerLimits());
      }
      const sizes = policy.budgets!.map((b) => b.hh + b.recent);
      expect(sizes.reduce((a, b) => a + b, 0) / sizes.length).toBeCloseTo(256, -1);
      if (budgets === 'spread') expect(Math.max(...sizes)).toBeGreaterThan(1.5 * Math.min(...sizes));
      await cache.ensure(policy.layerLimits());
      const allocated = cache.bytes() + policy.bytes();
      const target = fullCacheBytes(smollm2, 256 + 512, dtype);
      expect(allocated / target).toBeLessThan(1.15);
      expect(allocated / target).toBeGreaterThan(1);
      // Nothing grows past it, however many chunks pass.
      await cache.ensure(policy.layerLimits().map((n) => n + 10_000));
      expect(cache.bytes() + policy.bytes()).toBe(allocated);
    } finally {
      policy.destroy();
      cache.destroy();
      step.destroy();
    }
  });
});

describe('the full cache grows until the device refuses memory', () => {
  it("an allocation over the adapter's largest storage buffer is refused before anything is allocated", async () => {
    const { device } = await getTestDevice();
    const cache = new GpuKvCache(device, { numLayers: 1, numKvHeads: 8, headDim: 128, capacity: 1_000_000, initialSlots: 16 });
    try {
      const perToken = 8 * 128 * 4;
      const tooMany = Math.ceil(Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize) / perToken) + 64;
      const bytes = cache.bytes();
      const e = await cache.ensure([tooMany]).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(ContextOverflowError);
      expect((e as Error).message).toMatch(/largest storage buffer of [\d.]+ MiB .*kvDtype: 'f16' halves that.*compressing policy/);
      expect([cache.maxSlots, cache.bytes()]).toEqual([16, bytes]);
      await cache.ensure([100]);
      expect(cache.maxSlots).toBe(112);
    } finally {
      cache.destroy();
    }
  });

  it('a refused allocation is a ContextOverflowError naming the memory, and the conversation held is kept', async () => {
    const ctx = await getTestDevice();
    const { device } = ctx;
    const g = golden['tinystories-656k'].greedy_ids;
    const engine = await createEngine({ model: tinystories656k.dir, gpu: ctx });
    const create = device.createBuffer;
    try {
      const first = await engine.generate(g.slice(0, 40), { greedy: true, maxTokens: 10 }).result;
      const held = engine.contextLength;
      // From here the device refuses any larger K/V pool (an invalid size, inside the growth's error scope).
      device.createBuffer = function (this: GPUDevice, d: GPUBufferDescriptor) {
        return create.call(this, d.label?.startsWith('k pool') ? { ...d, size: device.limits.maxBufferSize + 4 } : d);
      };
      const e = await engine.generate(g.slice(60, 160), { greedy: true, maxTokens: 5, continue: true }).result.catch((x: unknown) => x);
      expect(e).toBeInstanceOf(ContextOverflowError);
      expect((e as Error).message).toMatch(/more GPU memory .* the device refused it.*conversation so far is kept.*compressing policy/s);
      expect(engine.contextLength).toBe(held);
      device.createBuffer = create;
      // The conversation goes on from where it was: the same as one generation over everything.
      const next = await engine.generate(g.slice(60, 70), { greedy: true, maxTokens: 10, continue: true }).result;
      const whole = await engine.generate([...g.slice(0, 40), ...first.ids, ...g.slice(60, 70)], { greedy: true, maxTokens: 10 }).result;
      expect(next.ids).toEqual(whole.ids);
    } finally {
      device.createBuffer = create;
      engine.dispose();
    }
  });
});
