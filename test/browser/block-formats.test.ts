/** The K-quant files' block formats through every weight kernel in Chromium (SwiftShader): small shapes. */
import { describe, expect, it } from 'vitest';
import { useBrowserPage } from '../helpers/browser';
import type { EmbeddingCase, ProductCase, UploadCase } from '../cases/weights-kernels';

const MODULE = '/test/cases/weights-kernels.ts';
const FORMATS = ['q4_1', 'q5_0', 'q5_1', 'q4_k', 'q5_k', 'q6_k'] as const;
const VARIANTS = ['simple', 'tiled'] as const;
const cols = (dtype: string) => (dtype.endsWith('_k') ? 512 : 96);
const smallBinding = (dtype: string) => (dtype.endsWith('_k') ? 1000 : 100);

const browser = useBrowserPage();
const run = <T = { ok: boolean }>(fn: string, arg: unknown) => browser.run<T>(MODULE, fn, arg);
const ok = (r: { ok: boolean }) => expect(r.ok, JSON.stringify(r)).toBe(true);

describe.each(FORMATS)('%s in Chromium (SwiftShader) vs the float64 reference', (dtype) => {
  it('upload layout, in forced row slices', async () => {
    const c: UploadCase = { dtype, rows: 5, cols: cols(dtype), maxBinding: smallBinding(dtype) };
    const r = await run<{ layoutOk: boolean; slices: unknown[] }>('uploadCase', c);
    expect(r.layoutOk).toBe(true);
    expect(r.slices.length).toBeGreaterThan(1);
  });
  it.each(VARIANTS)('matvec and matmul (T = 5, accumulating into offsets), %s', async (variant) => {
    const c: ProductCase = { dtype, variant, rows: 13, cols: cols(dtype), seed: 3 };
    ok(await run('matvecCase', c));
    ok(await run('matmulCase', { ...c, tokens: 5, accumulate: true, xOffset: 3, rowOffset: 2, maxBinding: smallBinding(dtype) }));
  });
  it('embedding gather (exact)', async () => {
    const c: EmbeddingCase = { dtype, vocab: 11, cols: cols(dtype), ids: [0, 10, 3, 3] };
    ok(await run('embeddingCase', c));
  });
});
