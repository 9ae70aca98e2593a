/**
 * The paged KV cache on the GPU: append slot rules (free list first, then the end), meta, scores
 * zeroed on append, readback and direct-write helpers, pool growth (contents preserved, capped),
 * reset, and KV memory of a capped cache under eviction and reuse. Everything here is exact.
 */
import { describe, expect, it } from 'vitest';
import { getTestDevice } from '../helpers/gpu';
import { GpuKvCache } from '../../src/gpu/kv-cache';
import { fullCacheBytes } from '../../src/kv/stats';
import { KvAppendKernel } from '../../src/gpu/kv_append';
import { StepParams } from '../../src/gpu/step-params';
import { storageBuffer } from '../../src/gpu/buffers';
import { failures, pagedAttentionCase } from '../cases/paged-attention';
import { randomFloats } from '../cases/random';
import { freeSlots, markFilled, readHead, writeHead } from '../helpers/kv-cache';

const HD = 4;

async function setup(o: { capacity: number; pageSize?: number; initialSlots?: number; pageSeed?: number; numLayers?: number }) {
  const { device } = await getTestDevice();
  const cache = new GpuKvCache(device, { numLayers: o.numLayers ?? 1, numKvHeads: 2, headDim: HD, capacity: o.capacity, pageSize: o.pageSize ?? 4, initialSlots: o.initialSlots, pageSeed: o.pageSeed });
  const maxT = 8;
  const k = storageBuffer(device, maxT * 2 * HD * 4);
  const v = storageBuffer(device, maxT * 2 * HD * 4);
  const step = new StepParams(device);
  const append = new KvAppendKernel(device).bind({ k, v, cache, layer: 0, step: step.buffer });
  let pos = 0;
  /** Appends T tokens (K = pos + 0.25 * dim, V = -K) at the next positions. */
  const run = async (T: number) => {
    const keys = new Float32Array(T * 2 * HD);
    for (let t = 0; t < T; t++) for (let h = 0; h < 2; h++) for (let d = 0; d < HD; d++) keys[(t * 2 + h) * HD + d] = pos + t + 0.25 * d + 100 * h;
    device.queue.writeBuffer(k, 0, keys);
    device.queue.writeBuffer(v, 0, keys.map((x) => -x));
    step.write({ pos0: pos, nTokens: T, step: 0, seed: 0 });
    cache.highWater += T;
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    append.encode(pass, { tokens: T });
    pass.end();
    device.queue.submit([enc.finish()]);
    pos += T;
    await device.queue.onSubmittedWorkDone();
  };
  const keyOf = (p: number, h: number) => Array.from({ length: HD }, (_, d) => p + 0.25 * d + 100 * h);
  return { device, cache, run, keyOf };
}

describe('GpuKvCache + kv_append', () => {
  it('appends at the end, reuses freed slots lowest first, then grows; meta follows', async () => {
    const { device, cache, run, keyOf } = await setup({ capacity: 20, pageSeed: 1 });
    await run(6);
    for (let h = 0; h < 2; h++) {
      const s = await readHead(cache, 0, h);
      expect(s.numSlots).toBe(6);
      expect(s.nextSlot).toBe(6);
      expect(Array.from(s.pos.subarray(0, 7))).toEqual([0, 1, 2, 3, 4, 5, -1]);
      for (let p = 0; p < 6; p++) {
        expect(Array.from(s.keys.subarray(p * HD, (p + 1) * HD))).toEqual(keyOf(p, h));
        expect(Array.from(s.values.subarray(p * HD, (p + 1) * HD))).toEqual(keyOf(p, h).map((x) => -x));
      }
    }
    // What a policy does: free slots (head 0: 4 and 1; head 1: 2), and leave junk scores around.
    await freeSlots(cache, 0, 0, [4, 1]);
    await freeSlots(cache, 0, 1, [2]);
    device.queue.writeBuffer(cache.layers[0].score, 0, new Float32Array(2 * cache.maxSlots).fill(9));
    let s0 = await readHead(cache, 0, 0);
    expect(s0.freeSlots).toEqual([4, 1]);
    expect(s0.nextSlot).toBe(1);
    expect((await readHead(cache, 0, 1)).nextSlot).toBe(2);
    // A chunk of 3 (positions 6, 7, 8) fills the freed slots first, then appends at the end.
    await run(3);
    s0 = await readHead(cache, 0, 0);
    const s1 = await readHead(cache, 0, 1);
    expect(Array.from(s0.pos.subarray(0, 8))).toEqual([0, 6, 2, 3, 7, 5, 8, -1]);
    expect(Array.from(s1.pos.subarray(0, 9))).toEqual([0, 1, 6, 3, 4, 5, 7, 8, -1]);
    expect([s0.numSlots, s0.freeSlots.length, s0.nextSlot]).toEqual([7, 0, 7]);
    expect([s1.numSlots, s1.freeSlots.length, s1.nextSlot]).toEqual([8, 0, 8]);
    for (const [s, slot] of [[s0, 1], [s0, 4], [s0, 6], [s1, 2], [s1, 6], [s1, 7]] as const) expect(s.score[slot]).toBe(0);
    expect(s0.score[0]).toBe(9);
    expect(Array.from(s0.keys.subarray(HD, 2 * HD))).toEqual(keyOf(6, 0));
    expect(Array.from(s1.keys.subarray(2 * HD, 3 * HD))).toEqual(keyOf(6, 1));
    // Freeing a slot twice, or one never used, is refused.
    await expect(freeSlots(cache, 0, 0, [15])).rejects.toThrow(RangeError);
    cache.destroy();
  });

  it('a full cache drops tokens past its capacity instead of writing out of bounds; numSlots stays <= maxSlots', async () => {
    const { cache, run } = await setup({ capacity: 8, pageSize: 4 });
    await run(6);
    await run(5);
    const s = await readHead(cache, 0, 0);
    expect(s.numSlots).toBe(8);
    expect(Array.from(s.pos)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    cache.destroy();
  });

  it('writeHead / readHead round trip through a shuffled page table', async () => {
    const { cache } = await setup({ capacity: 13, pageSize: 3, pageSeed: 4, numLayers: 2 });
    const pos = [0, 1, -1, 3, 4, -1, 6, 7, 8, 9, 10];
    const keys = randomFloats(pos.length * HD, 1);
    const values = randomFloats(pos.length * HD, 2);
    const score = pos.map((_, i) => i + 0.5);
    writeHead(cache, 1, 1, { pos, keys, values, score });
    const s = await readHead(cache, 1, 1);
    expect(cache.highWater).toBe(11);
    expect(s.numSlots).toBe(11);
    expect(s.freeSlots).toEqual([5, 2]);
    expect(s.nextSlot).toBe(2);
    expect(Array.from(s.pos.subarray(0, 11))).toEqual(pos);
    expect(Array.from(s.keys.subarray(0, keys.length))).toEqual(Array.from(keys));
    expect(Array.from(s.values.subarray(0, values.length))).toEqual(Array.from(values));
    expect(Array.from(s.score.subarray(0, 11))).toEqual(score.map((x, i) => (pos[i] < 0 ? 0 : x)));
    // Head 0 and layer 0 untouched.
    expect((await readHead(cache, 1, 0)).numSlots).toBe(0);
    expect((await readHead(cache, 0, 1)).numSlots).toBe(0);
    cache.destroy();
  });

  it('pools grow on demand, keep their contents, and never grow past the capacity', async () => {
    const { device, cache, run, keyOf } = await setup({ capacity: 40, pageSize: 4, initialSlots: 4 });
    const perSlot = 2 * 2 * HD * 4; // K and V, two heads
    const poolBytes = () => cache.layers[0].k.size + cache.layers[0].v.size;
    expect(poolBytes()).toBe(4 * perSlot);
    let grew = 0;
    cache.onGrow(() => grew++);
    await run(3);
    expect(poolBytes()).toBe(4 * perSlot);
    await run(8); // 11 slots: 3 pages a head, 6 in all > the 2 the pool has: it grows to max(6, 2 x 2)
    expect(grew).toBe(1);
    expect(cache.version).toBe(1);
    expect(poolBytes()).toBe(12 * perSlot);
    for (let h = 0; h < 2; h++) {
      const s = await readHead(cache, 0, h);
      expect(s.numSlots).toBe(11);
      for (let p = 0; p < 11; p++) expect(Array.from(s.keys.subarray(p * HD, (p + 1) * HD))).toEqual(keyOf(p, h));
    }
    cache.highWater = 10_000;
    expect(poolBytes()).toBe(40 * perSlot);
    const bytes = cache.bytes();
    cache.highWater += 1000;
    expect(cache.bytes()).toBe(bytes);
    expect(grew).toBe(2);
    // Contents survived the second growth too.
    expect(Array.from((await readHead(cache, 0, 1)).keys.subarray(10 * HD, 11 * HD))).toEqual(keyOf(10, 1));
    // reset keeps the pools (no growth needed to refill them) and empties every head.
    cache.reset();
    const s = await readHead(cache, 0, 0);
    expect([s.numSlots, s.freeSlots.length, cache.highWater]).toEqual([0, 0, 0]);
    expect(s.pos.every((p) => p === -1)).toBe(true);
    expect(cache.bytes()).toBe(bytes);
    await run(5);
    expect(grew).toBe(2);
    expect(Array.from((await readHead(cache, 0, 0)).pos.subarray(0, 6))).toEqual([11, 12, 13, 14, 15, -1]);
    void device;
    cache.destroy();
  });

  it('bytes() and fullCacheBytes()', async () => {
    const { device } = await getTestDevice();
    const cache = new GpuKvCache(device, { numLayers: 3, numKvHeads: 2, headDim: 8, capacity: 10, pageSize: 4 });
    // 3 pages of 4 slots per head; index: meta 2x2, page table 2x3, pos and free list 2x12 each.
    const index = (4 + 6 + 24 + 24) * 4;
    expect(cache.bytes()).toBe(3 * (2 * 2 * 12 * 8 * 4 + index + 2 * 12 * 4));
    expect(fullCacheBytes(cache.o, 100)).toBe(3 * 2 * 100 * 8 * 2 * 4);
    markFilled(cache, 7);
    const s = await readHead(cache, 2, 1);
    expect([s.numSlots, cache.highWater]).toEqual([7, 7]);
    expect(Array.from(s.pos.subarray(0, 8))).toEqual([0, 1, 2, 3, 4, 5, 6, -1]);
    cache.destroy();
  });
});

describe('KV memory of a capped cache', () => {
  it.each(['simple', 'tiled'] as const)('stays constant as tokens are appended and slots reused (%s attention, results exact vs CPU)', async (variant) => {
    // 8 prompt tokens, then 40 decode steps each preceded by one eviction per head: live tokens
    // stay at 8, slots are reused in place, and the pools stop at the 12-slot cap.
    const r = await pagedAttentionCase(await getTestDevice(), {
      variant, headDim: 8, numHeads: 4, numKvHeads: 2, chunks: [8, ...Array<number>(40).fill(1)], freeBetween: true, capacity: 12, pageSize: 4, initialSlots: 4,
    });
    expect(failures(r)).toEqual([]);
    expect(r.growths).toBeGreaterThan(0);
    const cap = Math.max(...r.bytes);
    const first = r.bytes.indexOf(cap);
    expect(first).toBeLessThan(5);
    expect(r.bytes.slice(first).every((b) => b === cap)).toBe(true);
    // The cap: 2 layers x (K and V of 2 heads x 12 slots x 8 floats + index + scores).
    const index = (2 * 2 + 2 * 3 + 2 * 2 * 12) * 4;
    expect(cap).toBe(2 * (2 * 2 * 12 * 8 * 4 + index + 2 * 12 * 4));
    expect(cap).toBeLessThan(fullCacheBytes({ numLayers: 2, numKvHeads: 2, headDim: 8 }, 48));
  });
});
