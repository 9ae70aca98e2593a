/**
 * The llama.cpp block formats of K-quant files (q4_1, q5_0, q5_1, q4_k, q5_k, q6_k) through every
 * weight kernel on Dawn + lavapipe: upload layout, matvec and matmul (both variants, odd row counts,
 * T = 1, 3 and 17, accumulate with offsets, row slices) and the embedding gather, each against the
 * float64 reference on the dequantized weights (the CPU decoder, itself checked against ggml).
 */
import { describe, expect, it } from 'vitest';
import { getTestDevice } from '../helpers/gpu';
import { embeddingCase, matmulCase, matvecCase, uploadCase, type ProductResult } from '../cases/weights-kernels';
import type { DType } from '../../src/model/types';

const ok = (r: { ok: boolean }) => expect(r.ok, JSON.stringify(r)).toBe(true);
const FORMATS: DType[] = ['q4_1', 'q5_0', 'q5_1', 'q4_k', 'q5_k', 'q6_k'];
/** Widths of 1 and 3 blocks, and a binding limit that holds a few rows of the narrower. */
const widths = (dtype: DType) => (dtype.endsWith('_k') ? [256, 768] : [32, 96]);
const smallBinding = (dtype: DType) => (dtype.endsWith('_k') ? 1000 : 100);

describe.each(FORMATS)('%s', (dtype) => {
  const [one, three] = widths(dtype);

  it('uploads whole blocks at word-aligned slots, in forced row slices', async () => {
    const r = await uploadCase(await getTestDevice(), { dtype, rows: 9, cols: three, maxBinding: smallBinding(dtype) });
    expect(r.layoutOk).toBe(true);
    expect(r.slices.length).toBeGreaterThan(1);
    expect(r.destroyedOk).toBe(true);
  });

  describe.each(['simple', 'tiled'] as const)('%s', (variant) => {
    it.each([1, 7, 65, 257].flatMap((rows) => [one, three].map((cols) => ({ rows, cols }))))('matvec %o', async ({ rows, cols }) => {
      ok(await matvecCase(await getTestDevice(), { dtype, variant, rows, cols, seed: rows + cols }));
    });
    it.each([3, 17].flatMap((tokens) => [7, 65].map((rows) => ({ rows, tokens }))))(`matmul cols ${three} %o`, async ({ rows, tokens }) => {
      ok(await matmulCase(await getTestDevice(), { dtype, variant, rows, cols: three, tokens, seed: rows * 3 + tokens }));
    });
    it('accumulates with x and y offsets, and splits into row slices', async () => {
      const ctx = await getTestDevice();
      ok(await matvecCase(ctx, { dtype, variant, rows: 65, cols: three, accumulate: true, xOffset: 5, rowOffset: 3 }));
      const r: ProductResult = await matmulCase(ctx, { dtype, variant, rows: 33, cols: one, tokens: 5, accumulate: true, xOffset: 3, rowOffset: 7, maxBinding: smallBinding(dtype) });
      expect(r.slices).toBeGreaterThan(4);
      ok(r);
    });
  });

  it('embedding gather (exact), also row-sliced', async () => {
    const ctx = await getTestDevice();
    ok(await embeddingCase(ctx, { dtype, vocab: 37, cols: three, ids: [0, 36, 5, 5, 17] }));
    const r = await embeddingCase(ctx, { dtype, vocab: 37, cols: one, ids: [0, 36, 5, 17, 20, 1], maxBinding: smallBinding(dtype) });
    expect(r.slices).toBeGreaterThan(4);
    ok(r);
  });

  it('rejects widths that are not whole blocks', async () => {
    await expect(matvecCase(await getTestDevice(), { dtype, variant: 'simple', rows: 2, cols: one / 2 })).rejects.toThrow(/multiple of/);
  });
});
