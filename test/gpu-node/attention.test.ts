/**
 * GQA attention over the paged KV cache (both variants forced) vs the CPU reference
 * (src/cpu/attention.ts), through test/cases/paged-attention.ts.
 *
 * Tolerances:
 * - Outputs: |gpu - cpu| <= 1e-5 + 1e-4 |cpu| (OUT_ATOL, OUT_RTOL in test/cases/paged-attention.ts). The CPU sums in float64 from
 *   the same f32 inputs; the GPU sums dot products of up to 128 terms (|q| <= 2, |k| <= 1) in f32,
 *   so logits carry errors of ~1e-6 and probabilities a relative ~1e-6; outputs are averages of
 *   |v| <= 1, so ~1e-6 absolute (online-softmax rescaling and split-K merging add a few ulps).
 *   1e-5 is an order of magnitude above that and three below a real indexing or masking error
 *   (which moves an output by ~1/slots >= 1e-3 at the largest slot count here). Measured on
 *   lavapipe: worst output error ~2e-7, worst score error ~1e-6.
 * - Scores and column sums: relative (to max(1, score)) 1e-5 (SCORE_RTOL). Each is a sum of at most a few hundred
 *   probabilities; the CPU rounds to f32 after every addition, the GPU sums the group's and the
 *   call's p in f32 first: ~100 roundings of 6e-8 = 6e-6 at worst.
 * - Slot tables (positions, free lists) and K/V: exact (they are copies).
 */
import { describe, expect, it } from 'vitest';
import { getTestDevice } from '../helpers/gpu';
import { failures, pagedAttentionCase, type PagedAttentionCase } from '../cases/paged-attention';
import type { KernelVariant } from '../../src/gpu/variant';

type Shape = Omit<PagedAttentionCase, 'variant'>;

const shapes: [string, Shape][] = [
  ['1 slot, decode, G=2, hd 8', { headDim: 8, numHeads: 8, numKvHeads: 4, chunks: [1] }],
  ['decode from empty, G=2, hd 8', { headDim: 8, numHeads: 8, numKvHeads: 4, chunks: [1, 1, 1, 1, 1] }],
  ['5 slots with a hole, T 3/1/17, G=4, hd 16', { headDim: 16, numHeads: 8, numKvHeads: 2, history: 5, holes: 1, chunks: [3, 1, 17] }],
  ['33 slots with holes, T 17/1, G=8, hd 64', { headDim: 64, numHeads: 8, numKvHeads: 1, history: 33, holes: 3, chunks: [17, 1, 1] }],
  ['257 slots with holes, T 1/3/1, G=1, hd 128', { headDim: 128, numHeads: 4, numKvHeads: 4, history: 257, holes: 20, chunks: [1, 3, 1] }],
  ['1000 slots with holes, T 1/17, G=2, hd 64', { headDim: 64, numHeads: 4, numKvHeads: 2, history: 1000, holes: 50, chunks: [1, 17], pageSize: 16 }],
  ['sliding window 7, T 17/1/3, G=8, hd 16', { headDim: 16, numHeads: 16, numKvHeads: 2, history: 40, holes: 5, chunks: [17, 1, 3], window: 7 }],
  ['sliding window 100 over 300 slots, G=4, hd 64', { headDim: 64, numHeads: 8, numKvHeads: 2, history: 300, holes: 9, chunks: [1, 5], window: 100, pageSize: 16 }],
  ['shuffled pages of 3 slots, G=2, hd 16', { headDim: 16, numHeads: 8, numKvHeads: 4, history: 11, holes: 2, chunks: [9, 1, 1, 1, 3], pageSize: 3, pageSeed: 5 }],
  ['a slot freed before every call is reused in place (eviction), G=2', { headDim: 16, numHeads: 8, numKvHeads: 4, chunks: [9, 1, 1, 5, 1, 3], freeBetween: true, pageSeed: 9 }],
  ['column sums of the first prefill, G=4', { headDim: 16, numHeads: 8, numKvHeads: 2, chunks: [17, 1, 1], colsum: true }],
  ['column sums of a one-token first call over a history, G=2', { headDim: 8, numHeads: 4, numKvHeads: 2, history: 6, chunks: [1, 1], colsum: true }],
  ['pools growing on demand under the calls, G=4', { headDim: 16, numHeads: 8, numKvHeads: 2, history: 3, holes: 1, chunks: [8, 1, 17, 1, 33], initialSlots: 4, pageSeed: 3 }],
];

describe.each<KernelVariant>(['simple', 'tiled'])('paged GQA attention, %s variant, vs CPU reference', (variant) => {
  it.each(shapes)('%s', async (_, shape) => {
    const r = await pagedAttentionCase(await getTestDevice(), { variant, ...shape });
    expect(r.variant).toBe(variant);
    expect(failures(r)).toEqual([]);
    if (shape.initialSlots !== undefined) expect(r.growths).toBeGreaterThan(0);
  });
});
