import { describe, expect, it } from 'vitest';
import { getTestDevice } from '../helpers/gpu';
import { embeddingCase, rmsnormCase, ropeCase, sampleCase, swigluCase } from '../cases/kernels';
import type { DType } from '../../src/model/types';

const ok = (r: { ok: boolean }) => expect(r.ok, JSON.stringify(r)).toBe(true);

describe.each(['simple', 'tiled'] as const)('rmsnorm %s', (variant) => {
  it.each([
    [1, 1], [3, 7], [17, 64], [3, 129], [5, 576],
  ])('T=%i width=%i', async (tokens, width) => ok(await rmsnormCase(await getTestDevice(), { variant, tokens, width })));
  it('last row only (the final norm before the LM head)', async () => ok(await rmsnormCase(await getTestDevice(), { variant, tokens: 17, width: 129, lastOnly: true })));
});

describe('rope', () => {
  it.each([
    { tokens: 1, heads: 8, kvHeads: 4, headDim: 8, pos0: 0, layout: 'interleaved' as const },
    { tokens: 3, heads: 8, kvHeads: 4, headDim: 16, pos0: 511, layout: 'half' as const },
    { tokens: 17, heads: 9, kvHeads: 3, headDim: 64, pos0: 4000, layout: 'half' as const },
    { tokens: 5, heads: 4, kvHeads: 1, headDim: 128, pos0: 4090, layout: 'interleaved' as const, llama3: true },
    { tokens: 2, heads: 32, kvHeads: 8, headDim: 64, pos0: 100000, layout: 'half' as const, llama3: true },
  ])('%o', async (c) => ok(await ropeCase(await getTestDevice(), c)));
});

describe('swiglu', () => {
  it.each([[1, 1], [3, 7], [17, 384], [2, 1536]])('T=%i width=%i', async (tokens, width) => ok(await swigluCase(await getTestDevice(), { tokens, width })));
});

describe('embedding gather', () => {
  for (const dtype of ['f32', 'f16', 'bf16', 'q8_0', 'q4_0'] as DType[]) {
    it(dtype, async () => ok(await embeddingCase(await getTestDevice(), { dtype, vocab: 37, cols: dtype.startsWith('q') ? 96 : 33, ids: [0, 36, 5, 5, 17] })));
  }
  it('row-sliced embeddings (larger than one binding)', async () => ok(await embeddingCase(await getTestDevice(), { dtype: 'q8_0', vocab: 37, cols: 64, ids: [0, 36, 5, 5, 17, 20], maxBinding: 512 })));
});

describe('GPU sampler draws the CPU sampler ids', () => {
  it.each([
    { vocab: 7, sampling: { greedy: true }, draws: 20, ties: true },
    { vocab: 2048, sampling: { greedy: true }, draws: 10, ties: true },
    { vocab: 2048, sampling: { greedy: true, repetitionPenalty: 1.3, repetitionWindow: 8 }, draws: 10, context: [5, 9, 5, 100, 2047, 3, 3, 1, 0] },
    { vocab: 7, sampling: { temperature: 1.3, seed: 1 }, draws: 30 },
    { vocab: 2048, sampling: { temperature: 0.7, seed: 2 }, draws: 20 },
    { vocab: 2048, sampling: { temperature: 1, topK: 1, seed: 3 }, draws: 10 },
    { vocab: 2048, sampling: { temperature: 1, topK: 5, seed: 4 }, draws: 20 },
    { vocab: 2048, sampling: { temperature: 1.3, topK: 40, topP: 0.9, seed: 5 }, draws: 20 },
    { vocab: 2048, sampling: { temperature: 0.7, topP: 0.5, seed: 6 }, draws: 20 },
    { vocab: 2048, sampling: { temperature: 1, topP: 0.9, repetitionPenalty: 1.3, repetitionWindow: 64, seed: 7 }, draws: 20, context: Array.from({ length: 100 }, (_, i) => (i * 37) % 2048) },
    { vocab: 49152, sampling: { temperature: 0.8, topK: 40, topP: 0.95, seed: 8 }, draws: 5 },
    { vocab: 49152, sampling: { greedy: true }, draws: 5 },
  ])('%o', async (c) => {
    const r = await sampleCase(await getTestDevice(), c);
    expect(r.gpu).toEqual(r.cpu);
  });
});
