import { describe, expect, it } from 'vitest';
import { getTestDevice } from '../helpers/gpu';
import { attentionCase, type AttentionCase } from '../cases/attention';

// Attention outputs: softmax and sums in f32 vs float64, |v| <= 1: 1e-5 abs + 1e-4 rel.
// Scores: sums of up to a few hundred f32 probabilities: 1e-5 relative.
const check = (r: Awaited<ReturnType<typeof attentionCase>>) => {
  expect(r.outOk, `worst output error ${r.worstOut}`).toBe(true);
  expect(r.tablesEqual).toBe(true);
  expect(r.worstScore).toBeLessThan(1e-5);
};

describe('paged KV cache + GQA attention vs CPU reference', () => {
  it.each<AttentionCase>([
    { headDim: 8, numHeads: 8, numKvHeads: 4, chunks: [1, 1, 1, 1, 1] },
    { headDim: 16, numHeads: 8, numKvHeads: 4, chunks: [17, 1, 3, 1] },
    { headDim: 64, numHeads: 9, numKvHeads: 3, chunks: [33, 1, 1] },
    { headDim: 128, numHeads: 8, numKvHeads: 1, chunks: [5, 1] },
    { headDim: 64, numHeads: 4, numKvHeads: 4, chunks: [32, 32, 32, 32, 32, 32, 32, 32, 1] },
    { headDim: 16, numHeads: 16, numKvHeads: 2, chunks: [17, 17, 1, 1], window: 7 },
    { headDim: 16, numHeads: 8, numKvHeads: 4, chunks: [9, 1, 1, 1, 3], shufflePages: true, pageSize: 2 },
  ])('%o', async (c) => check(await attentionCase(await getTestDevice(), c)));

  it('a freed slot is reused in place by the next token (what eviction does)', async () => {
    check(await attentionCase(await getTestDevice(), { headDim: 16, numHeads: 8, numKvHeads: 4, chunks: [9, 1, 1, 1, 1], freeAfter: 2, shufflePages: true }));
    // A chunk after the free fills the freed slot first, then grows the table.
    check(await attentionCase(await getTestDevice(), { headDim: 16, numHeads: 8, numKvHeads: 4, chunks: [9, 1, 5, 1], freeAfter: 2 }));
  });
});
