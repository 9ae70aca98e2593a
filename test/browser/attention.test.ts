/**
 * Paged KV cache + GQA attention in Chromium (SwiftShader) vs the CPU reference: small shapes of
 * test/cases/paged-attention.ts, both variants, with the tolerances of the Node route (the same
 * f32 arithmetic; see test/gpu-node/attention.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { useBrowserPage } from '../helpers/browser';
import { failures, type PagedAttentionCase, type PagedAttentionResult } from '../cases/paged-attention';

const browser = useBrowserPage();

const shapes: [string, Omit<PagedAttentionCase, 'variant'>][] = [
  ['decode and a chunk over a history with holes, G=4, hd 16', { headDim: 16, numHeads: 8, numKvHeads: 2, history: 33, holes: 4, chunks: [1, 3, 1], pageSeed: 2 }],
  ['prefill with column sums, sliding window, G=2, hd 8', { headDim: 8, numHeads: 4, numKvHeads: 2, chunks: [17, 1], window: 5, colsum: true }],
  ['eviction and reuse in a capped, growing cache, G=1, hd 64', { headDim: 64, numHeads: 2, numKvHeads: 2, chunks: [5, 1, 1, 1, 1], freeBetween: true, capacity: 8, initialSlots: 2, pageSize: 2 }],
];

describe('paged GQA attention in Chromium vs CPU reference', () => {
  for (const variant of ['simple', 'tiled'] as const)
    it.each(shapes)(`${variant}: %s`, async (_, shape) => {
      const r = await browser.run<PagedAttentionResult>('/test/cases/paged-attention.ts', 'pagedAttentionCase', { variant, ...shape });
      expect(r.variant).toBe(variant);
      expect(failures(r), JSON.stringify(r)).toEqual([]);
    });
});
