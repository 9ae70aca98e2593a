/**
 * A long generation, and a long input, under a small absolute budget: once every layer has reached
 * its budget (plus one chunk for an input), the KV memory and the number of live GPU buffers must
 * not change however many tokens pass through.
 */
import { describe, expect, it } from 'vitest';
import { getTestDevice } from '../helpers/gpu';
import { golden, stories260K, tinystories656k } from '../helpers/models';
import { resolveSampling } from '../../src/backend/sampling';
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

describe('a 20,000-token input under a 64-token budget (stories260K, d2o, chunks of 512)', () => {
  it('is prefilled in chunks; KV bytes and live buffers are constant from the first compression on', async () => {
    const ctx = await getTestDevice();
    const model = await loadModel(stories260K.bin);
    const story = golden.stories260K.greedy_ids;
    const input = Array.from({ length: 20_000 }, (_, i) => story[i % story.length]);
    await countingBuffers(ctx.device, async (live) => {
      const gpu = await WebGpuBackend.create(model, { ctx, policy: resolvePolicy({ policy: 'd2o', budget: { kind: 'tokens', tokens: 64 } }), maxChunk: 64 });
      try {
        const seen: { done: number; bytes: number; buffers: number }[] = [];
        await gpu.append(input, resolveSampling({ greedy: true }), 0, undefined, (done) => void seen.push({ done, bytes: gpu.forward.kv.bytes(), buffers: live() }));
        expect(seen.length).toBe(40);
        expect(seen.at(-1)!.done).toBe(20_000);
        expect(new Set(seen.map((s) => s.bytes)).size, JSON.stringify(seen.slice(0, 3))).toBe(1);
        expect(new Set(seen.map((s) => s.buffers)).size).toBe(1);
        const stats = await gpu.kvStats();
        expect(stats.sequenceLength).toBe(20_000);
        for (const l of stats.layers) {
          // The prompt's last chunk waits for the first decoded token to be compressed with it.
          expect(l.occupancy).toBeLessThanOrEqual(l.budget! + 512);
          expect(l.evictions).toBeGreaterThan(19_000 * model.config.numKvHeads);
        }
        // The K/V pools hold each layer's budget plus a chunk (and the sinks' slack), in pages of 16.
        const c = model.config;
        const perSlot = c.numKvHeads * c.headDim * 2 * 4;
        const expected = stats.layers.reduce((s, l) => s + Math.ceil((l.budget! + 4 + 512 + 1) / 16) * 16 * perSlot, 0);
        expect(gpu.forward.kv.poolBytesAllocated()).toBe(expected);
        expect(stats.bytesAllocated).toBeLessThan(stats.bytesFull / 20);
      } finally {
        gpu.dispose();
      }
    });
  });
});
