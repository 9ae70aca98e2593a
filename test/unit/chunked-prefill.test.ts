/**
 * Chunked prefill on the CPU reference (src/kv/chunks.ts): a prompt of any length goes in chunks,
 * each compressed after, so the cache never holds more than the budget plus one chunk; a prompt
 * that fits one chunk is the one-shot prefill. The GPU equals this after every chunk
 * (test/cases/policy.ts).
 */
import { describe, expect, it } from 'vitest';
import { planChunks, resolvePrefillChunk } from '../../src/kv/chunks';
import { CpuBackend } from '../../src/cpu/backend';
import { resolveSampling } from '../../src/backend/sampling';
import { loadModel } from '../../src/model/load';
import { resolvePolicy } from '../../src/kv/policy';
import { golden, tinystories656k } from '../helpers/models';

const greedy = resolveSampling({ greedy: true });
const ids = golden['tinystories-656k'].greedy_ids;

describe('the chunk plan', () => {
  it('cuts a call into chunks; the prompt gathers column sums in its first and is not compressed after its last', () => {
    expect(planChunks(10, 0, 4)).toEqual([
      { start: 0, end: 4, colsum: true, compress: true },
      { start: 4, end: 8, colsum: false, compress: true },
      { start: 8, end: 10, colsum: false, compress: false },
    ]);
    expect(planChunks(3, 0, 4)).toEqual([{ start: 0, end: 3, colsum: true, compress: false }]);
    expect(planChunks(3, 0, Infinity)).toEqual([{ start: 0, end: 3, colsum: true, compress: false }]);
    // Later calls are compressed after every chunk; with `pending` ids not compressed yet the first
    // is cut so that at most a chunk plus one token is ever uncompressed.
    expect(planChunks(1, 10, 4)).toEqual([{ start: 0, end: 1, colsum: false, compress: true }]);
    expect(planChunks(9, 10, 4).map((c) => [c.start, c.end, c.compress])).toEqual([[0, 5, true], [5, 9, true]]);
    expect(planChunks(6, 10, 4, 4).map((c) => c.end - c.start)).toEqual([1, 4, 1]);
    expect(planChunks(6, 10, 4, 2).map((c) => c.end - c.start)).toEqual([3, 3]);
  });

  it('takes a positive integer or Infinity', () => {
    expect(resolvePrefillChunk(undefined)).toBe(512);
    expect(resolvePrefillChunk(Infinity)).toBe(Infinity);
    for (const bad of [0, -1, 2.5, NaN]) expect(() => resolvePrefillChunk(bad)).toThrow(RangeError);
  });
});

describe('chunked prefill on the CPU reference (TinyStories-656K)', async () => {
  const model = await loadModel(tinystories656k.dir);
  const L = model.config.numLayers;

  it('a prompt that fits one chunk is the one-shot prefill: same NLL, same cache', async () => {
    const policy = resolvePolicy({ policy: 'd2o', budget: '20%' });
    const text = ids.slice(0, 90);
    const one = new CpuBackend(model, { policy, prefillChunk: Infinity });
    const fits = new CpuBackend(model, { policy, prefillChunk: 60 });
    expect(Array.from(await fits.nll(text, undefined, 60))).toEqual(Array.from(await one.nll(text, undefined, 60)));
    expect(await fits.kvMap()).toEqual(await one.kvMap());
    expect(fits.policy.budgets).toEqual(one.policy.budgets);
  });

  it('under d2o, a long prompt never holds more than the budget plus one chunk per layer', async () => {
    const chunk = 24;
    const cpu = new CpuBackend(model, { policy: resolvePolicy({ policy: 'd2o', budget: { kind: 'tokens', tokens: 16 } }), prefillChunk: chunk });
    const prompt = ids.slice(0, 170);
    const seen: { done: number; live: number[]; budgets: number[] }[] = [];
    await cpu.append(prompt, greedy, 0, undefined, (done) => {
      seen.push({ done, live: cpu.cache.heads.map((hs) => Math.max(...hs.map((h) => h.length))), budgets: cpu.policy.budgets!.map((b) => b.hh + b.recent) });
    });
    expect(seen.map((s) => s.done)).toEqual([24, 48, 72, 96, 120, 144, 168, 170]);
    // Budgets are fixed from the first chunk on; after each compressed chunk every layer is at most at its budget.
    for (const s of seen) expect(s.budgets).toEqual(seen[0].budgets);
    for (const s of seen.slice(0, -1)) s.live.forEach((live, l) => expect(live).toBeLessThanOrEqual(s.budgets[l]));
    // The prompt's last (short) chunk waits for the first decoded token.
    seen.at(-1)!.live.forEach((live, l) => expect(live).toBeLessThanOrEqual(seen[0].budgets[l] + 2));
    await cpu.append([1], greedy, 1);
    const stats = await cpu.kvStats();
    for (const l of stats.layers) {
      expect(l.occupancy).toBeLessThanOrEqual(l.budget!);
      expect(l.evictions).toBeGreaterThan(100);
    }
    // The slot tables never grew past the budget plus a chunk (16-slot growth steps).
    for (const hs of cpu.cache.heads) for (const h of hs) expect(h.capacity).toBeLessThanOrEqual(2 * 16 + chunk + 16);
    expect(stats.sequenceLength).toBe(171);
  });

  it('in ratio mode the budget is a fraction of the whole prompt, not of a chunk', async () => {
    const cpu = new CpuBackend(model, { policy: resolvePolicy({ policy: 'h2o', budget: { kind: 'ratio', ratio: 0.2 } }), prefillChunk: 32 });
    await cpu.append(ids.slice(0, 150), greedy, 0);
    // Uniform h2o: each layer keeps floor(0.1 * 151) heavy hitters and as many recent tokens.
    expect(cpu.policy.budgets).toEqual(Array(L).fill({ hh: 15, recent: 15, compress: true }));
  });

  it('the full cache cuts back to a shorter context exactly; a compressing policy refuses', async () => {
    const a = new CpuBackend(model);
    await a.append(ids.slice(0, 50), greedy, 0);
    expect(a.truncate(30)).toBe(true);
    expect(a.context).toEqual(ids.slice(0, 30));
    const continued = await a.nll(ids.slice(30, 60));
    const fresh = await new CpuBackend(model).nll(ids.slice(0, 60));
    expect(Array.from(continued)).toEqual(Array.from(fresh.subarray(30)));
    const d2o = new CpuBackend(model, { policy: resolvePolicy({ policy: 'd2o', budget: { kind: 'tokens', tokens: 16 } }) });
    await d2o.append(ids.slice(0, 50), greedy, 0);
    expect(d2o.truncate(30)).toBe(false);
    expect(d2o.context.length).toBe(50);
  });
});
