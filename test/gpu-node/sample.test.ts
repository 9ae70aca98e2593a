import { describe, expect, it } from 'vitest';
import { getTestDevice } from '../helpers/gpu';
import { decodeCase, drawCase, uniformAtCheck, type DrawCase } from '../cases/sampler';
import type { SamplingOptions } from '../../src/backend/sampling';

// The GPU id must EQUAL the CPU reference's id on every draw (no tolerance).

describe('uniform_at (WGSL) is bit-exact with uniformAt', () => {
  it('100k (seed, step) pairs incl. edge values', async () => {
    const r = await uniformAtCheck(await getTestDevice(), { n: 100_000 });
    expect(r).toEqual({ n: 100_000, mismatches: 0, first: null });
  });
});

describe('greedy: argmax, lowest id on ties', () => {
  it.each([
    { vocab: 7, sampling: { greedy: true }, draws: 30, logits: 'ties' },
    { vocab: 2048, sampling: { greedy: true }, draws: 10, logits: 'ties' },
    { vocab: 49152, sampling: { greedy: true }, draws: 5, logits: 'ties' },
    { vocab: 2048, sampling: { greedy: true }, draws: 10, logits: 'masked' },
    { vocab: 49152, sampling: { greedy: true }, draws: 5 },
    { vocab: 2048, sampling: { greedy: true, repetitionPenalty: 1.3, repetitionWindow: 8 }, draws: 10, context: [5, 9, 5, 100, 2047, 3, 3, 1, 0] },
    { vocab: 7, sampling: { temperature: 0 }, draws: 10, logits: 'ties', context: [1, 1, 2] },
  ] as DrawCase[])('%o', async (c) => {
    const r = await drawCase(await getTestDevice(), c);
    expect(r.gpu).toEqual(r.cpu);
  });
});

// Every combination of temperature, top-k, top-p and penalty.
const grid: SamplingOptions[] = [];
for (const temperature of [0.7, 1.3])
  for (const topK of [0, 1, 5, 40])
    for (const topP of [0.5, 0.9, 1])
      for (const repetitionPenalty of [1, 1.3]) grid.push({ temperature, topK, topP, repetitionPenalty, repetitionWindow: 64, seed: grid.length * 7919 + 1 });
const context2048 = Array.from({ length: 300 }, (_, i) => (i * 37) % 2048);
const label = (s: SamplingOptions) => `T ${s.temperature} k ${s.topK} p ${s.topP} pen ${s.repetitionPenalty}`;

describe('sampling: the GPU draws the CPU ids', () => {
  it.each(grid.map((s) => [label(s), s] as const))('vocab 7, %s', async (_, sampling) => {
    const r = await drawCase(await getTestDevice(), { vocab: 7, sampling, draws: 12, context: [1, 2, 2, 6], stepBase: 3 });
    expect(r.gpu).toEqual(r.cpu);
  });
  it.each(grid.map((s) => [label(s), s] as const))('vocab 2048, %s', async (_, sampling) => {
    const r = await drawCase(await getTestDevice(), { vocab: 2048, sampling, draws: 8, context: context2048, stepBase: 1000 });
    expect(r.gpu).toEqual(r.cpu);
  });
  it.each(grid.filter((_, i) => i % 4 === 0 || i % 4 === 3).map((s) => [label(s), s] as const))('vocab 49152, %s', async (_, sampling) => {
    const r = await drawCase(await getTestDevice(), { vocab: 49152, sampling, draws: 3, context: context2048, stepBase: 5 });
    expect(r.gpu).toEqual(r.cpu);
  });
  it.each([
    { vocab: 2048, sampling: { temperature: 1, topK: 5, topP: 0.9, seed: 1 }, draws: 20, logits: 'ties' },
    { vocab: 2048, sampling: { temperature: 0.7, topK: 40, seed: 2 }, draws: 20, logits: 'ties' },
    { vocab: 2048, sampling: { temperature: 1.3, topP: 0.5, seed: 3 }, draws: 20, logits: 'ties' },
    { vocab: 49152, sampling: { temperature: 0.8, topK: 40, topP: 0.95, seed: 4 }, draws: 5, logits: 'peaked' },
    { vocab: 49152, sampling: { temperature: 1, topP: 0.999, seed: 5 }, draws: 5 },
    { vocab: 2048, sampling: { temperature: 0.9, topK: 20, topP: 0.9, seed: 6 }, draws: 20, logits: 'masked' },
    { vocab: 2048, sampling: { temperature: 0.05, seed: 7 }, draws: 10 },
    { vocab: 2048, sampling: { temperature: 1, topK: 2048, seed: 8 }, draws: 10 },
    { vocab: 7, sampling: { temperature: 1, topK: 7, topP: 0.99, seed: 9 }, draws: 20 },
  ] as DrawCase[])('ties, peaked, masked and edge settings: %o', async (c) => {
    const r = await drawCase(await getTestDevice(), c);
    expect(r.gpu).toEqual(r.cpu);
  });
});

describe('decode loop: the sampler appends its ids to the GPU ring', () => {
  it.each([
    { vocab: 2048, sampling: { temperature: 0.8, topK: 40, topP: 0.9, repetitionPenalty: 1.3, repetitionWindow: 64, seed: 1 }, prompt: 300, steps: 40 },
    { vocab: 64, sampling: { greedy: true, repetitionPenalty: 1.5, repetitionWindow: 16 }, prompt: 5, steps: 40 },
    { vocab: 64, sampling: { temperature: 1, repetitionPenalty: 2, repetitionWindow: 256, seed: 2 }, prompt: 250, steps: 30, ringSize: 256 },
    { vocab: 64, sampling: { temperature: 1, repetitionPenalty: 1.2, repetitionWindow: 10, seed: 3 }, prompt: 30, steps: 30, ringSize: 16 },
  ])('%o', async (c) => {
    const r = await decodeCase(await getTestDevice(), c);
    expect(r.gpu).toEqual(r.cpu);
    expect(r.ringOk).toBe(true);
  });
});
