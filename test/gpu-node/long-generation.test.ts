/**
 * A long generation under a small absolute budget: once every layer has reached its budget, the KV
 * memory and the number of live GPU buffers must not change however many tokens pass through.
 */
import { describe, expect, it } from 'vitest';
import { getTestDevice } from '../helpers/gpu';
import { golden, tinystories656k } from '../helpers/models';
import { loadModel } from '../../src/model/load';
import { WebGpuBackend } from '../../src/gpu/backend';
import { CpuBackend } from '../../src/cpu/backend';
import { generateIds } from '../../src/engine/generate';
import { resolvePolicy, type KvOptions } from '../../src/kv/policy';

/** Counts the device's live buffers (created and not yet destroyed) while `f` runs. */
async function countingBuffers<T>(device: GPUDevice, f: (live: () => number) => Promise<T>): Promise<T> {
  const create = device.createBuffer;
  let live = 0;
  device.createBuffer = function (this: GPUDevice, d: GPUBufferDescriptor) {
    const b = create.call(this, d);
    live++;
    const destroy = b.destroy;
    let destroyed = false;
    b.destroy = function (this: GPUBuffer) {
      if (!destroyed) live--;
      destroyed = true;
      destroy.call(this);
    };
    return b;
  };
  try {
    return await f(() => live);
  } finally {
    device.createBuffer = create;
  }
}

describe('2,000 tokens under a 64-token budget (TinyStories-656K, d2o)', () => {
  const kv: KvOptions = { policy: 'd2o', budget: { kind: 'tokens', tokens: 64 } };
  const prompt = golden['tinystories-656k'].greedy_ids.slice(0, 40);
  const sampling = { temperature: 0.9, topP: 0.95, seed: 11 };

  it('on the GPU: KV bytes and live buffers stay constant after the budget is reached', async () => {
    const ctx = await getTestDevice();
    const model = await loadModel(tinystories656k.dir);
    await countingBuffers(ctx.device, async (live) => {
      const gpu = await WebGpuBackend.create(model, { ctx, policy: resolvePolicy(kv) });
      try {
        const samples: { step: number; bytes: number; buffers: number }[] = [];
        let step = 0;
        for await (const _ of generateIds(gpu, prompt, { maxTokens: 2000, sampling })) {
          step++;
          if (step % 100 === 0) samples.push({ step, bytes: gpu.forward.kv.bytes(), buffers: live() });
        }
        expect(step).toBe(2000);
        const stats = await gpu.kvStats();
        expect(stats.sequenceLength).toBe(2039);
        const full = stats.bytesFull;
        for (const l of stats.layers) {
          expect(l.budget).toBeLessThanOrEqual(128);
          expect(l.occupancy).toBeLessThanOrEqual(l.budget!);
          expect(l.evictions).toBeGreaterThan(1500);
          expect(l.merges).toBeGreaterThan(0);
        }
        // Every layer is at its budget long before step 300 (40 + 300 tokens > 2 x 64 + a chunk).
        const steady = samples.filter((s) => s.step >= 300);
        expect(new Set(steady.map((s) => s.bytes)).size, JSON.stringify(samples)).toBe(1);
        expect(new Set(steady.map((s) => s.buffers)).size, JSON.stringify(samples)).toBe(1);
        // The cache holds a fraction of what a full cache of 2,039 tokens would take.
        expect(stats.bytesAllocated).toBeLessThan(full / 4);
      } finally {
        gpu.dispose();
      }
    });
  });

  it('on the CPU reference: the slot tables stop growing too', async () => {
    const cpu = new CpuBackend(await loadModel(tinystories656k.dir), { policy: resolvePolicy(kv) });
    const capacities: number[] = [];
    let step = 0;
    for await (const _ of generateIds(cpu, prompt, { maxTokens: 2000, sampling })) {
      if (++step % 100 === 0 && step >= 300) capacities.push((await cpu.kvStats()).bytesAllocated);
    }
    expect(new Set(capacities).size).toBe(1);
    const stats = await cpu.kvStats();
    for (const l of stats.layers) expect(l.occupancy).toBeLessThanOrEqual(l.budget!);
  });
});
