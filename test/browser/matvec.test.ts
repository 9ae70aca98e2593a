/** Weight kernels in Chromium on SwiftShader (no shader-f16, subgroups of 4): small shapes. */
import { describe, expect, it } from 'vitest';
import { useBrowserPage } from '../helpers/browser';
import type { EmbeddingCase, ProductCase, UploadCase } from '../cases/weights-kernels';

const MODULE = '/test/cases/weights-kernels.ts';
const DTYPES = ['f32', 'f16', 'bf16', 'q8_0', 'q4_0'] as const;
const VARIANTS = ['simple', 'tiled'] as const;

const browser = useBrowserPage();
const run = <T = { ok: boolean }>(fn: string, arg: unknown) => browser.run<T>(MODULE, fn, arg);

const ok = (r: { ok: boolean }) => expect(r.ok, JSON.stringify(r)).toBe(true);
/** A small binding limit that still holds a group of 8 rows of the grouped layouts (f16, q8_0: src/gpu/weights.ts). */
const smallBinding = (dtype: string, small: number) => (dtype === 'f16' || dtype === 'q8_0' ? 600 : small);

describe('weight kernels in Chromium (SwiftShader) vs the float64 reference', () => {
  it('runs on the software adapter', async () => {
    expect(await browser.adapterInfo()).toMatchObject({ isFallback: true });
  });

  it.each(DTYPES)('upload layout of %s, in forced row slices', async (dtype) => {
    const c: UploadCase = { dtype, rows: 9, cols: dtype.startsWith('q') ? 64 : 33, maxBinding: smallBinding(dtype, 200) };
    const r = await run<{ layoutOk: boolean; slices: unknown[]; destroyedOk: boolean }>('uploadCase', c);
    expect(r.layoutOk).toBe(true);
    expect(r.slices.length).toBeGreaterThan(1);
    expect(r.destroyedOk).toBe(true);
  });

  const products: ProductCase[] = DTYPES.flatMap((dtype) =>
    VARIANTS.map((variant) => ({ dtype, variant, rows: 33, cols: dtype.startsWith('q') ? 64 : 37, seed: 3 })),
  );
  it.each(products)('matvec %o', async (c) => ok(await run('matvecCase', c)));
  it.each(products)('matmul T=5 %o', async (c) => ok(await run('matmulCase', { ...c, tokens: 5 })));

  it.each(VARIANTS)('%s: gate/up interleaved in pairs (matvec: SiLU(gate) * up on simple; matmul: de-interleaved)', async (variant) => {
    const r = await run<{ ok: boolean; applied: boolean }>('gluCase', { dtype: 'q8_0', variant, rows: 98, cols: 64, maxBinding: 1000 });
    expect(r.applied).toBe(variant === 'simple');
    ok(r);
    ok(await run('gluCase', { dtype: 'f16', variant, rows: 46, cols: 37, tokens: 6 }));
  });

  it.each(VARIANTS)('%s: fused weights (parts in their own buffers) with a bias, and a bias while accumulating', async (variant) => {
    ok(await run('matvecCase', { dtype: 'q8_0', variant, rows: 41, cols: 64, parts: [9, 25], bias: true, maxBinding: 600 }));
    ok(await run('matmulCase', { dtype: 'f16', variant, rows: 41, cols: 37, tokens: 6, parts: [17], bias: true }));
    ok(await run('matvecCase', { dtype: 'f32', variant, rows: 19, cols: 37, accumulate: true, bias: true, rowOffset: 2 }));
  });

  it.each(VARIANTS)('%s: accumulate with offsets, row slices, odd f16 widths, native f16 falling back to packed', async (variant) => {
    ok(await run('matvecCase', { dtype: 'q4_0', variant, rows: 20, cols: 96, accumulate: true, xOffset: 3, rowOffset: 2, maxBinding: 256 }));
    ok(await run('matmulCase', { dtype: 'q8_0', variant, rows: 20, cols: 64, tokens: 3, accumulate: true, maxBinding: smallBinding('q8_0', 256) }));
    ok(await run('matvecCase', { dtype: 'f16', variant, rows: 9, cols: 3, f16: 'native' }));
    ok(await run('matmulCase', { dtype: 'bf16', variant, rows: 9, cols: 1, tokens: 3 }));
  });

  it.each(VARIANTS)('%s: matmul across token and row tiles, x at vec4-aligned and odd offsets', async (variant) => {
    ok(await run('matmulCase', { dtype: 'q8_0', variant, rows: 150, cols: 64, tokens: 19, accumulate: true, xOffset: 4, rowOffset: 1 }));
    ok(await run('matmulCase', { dtype: 'f16', variant, rows: 130, cols: 36, tokens: 10 }));
    ok(await run('matmulCase', { dtype: 'f32', variant, rows: 131, cols: 40, tokens: 9, accumulate: true, xOffset: 3 }));
  });

  it('tiled matvec with subgroups and with the workgroup-memory tree', async () => {
    const sg = await run<{ ok: boolean; subgroups: boolean }>('matvecCase', { dtype: 'f32', variant: 'tiled', rows: 9, cols: 300, subgroups: true });
    ok(sg);
    const f = await run<{ hasSubgroups: boolean }>('deviceFeatures', undefined);
    expect(sg.subgroups).toBe(f.hasSubgroups);
    const tree = await run<{ ok: boolean; subgroups: boolean }>('matvecCase', { dtype: 'f32', variant: 'tiled', rows: 9, cols: 300, subgroups: false });
    ok(tree);
    expect(tree.subgroups).toBe(false);
  });

  it('tiled f16 on SwiftShader (no shader-f16): packed f16 by default, the row-group path on odd sizes', async () => {
    const f = await run<{ hasF16: boolean }>('deviceFeatures', undefined);
    for (const [rows, cols] of [[9, 37], [7, 3], [17, 64]]) {
      const r = await run<{ ok: boolean; f16: string }>('matvecCase', { dtype: 'f16', variant: 'tiled', rows, cols, accumulate: rows === 9, seed: rows });
      expect(r.f16).toBe(f.hasF16 ? 'native' : 'packed');
      ok(r);
    }
    const q = await run<{ ok: boolean; subgroups: boolean }>('matvecCase', { dtype: 'q8_0', variant: 'tiled', rows: 17, cols: 96, subgroups: false });
    ok(q);
  });

  it.each(DTYPES)('embedding gather %s (exact), also row-sliced', async (dtype) => {
    const cols = dtype.startsWith('q') ? 64 : 33;
    const c: EmbeddingCase = { dtype, vocab: 11, cols, ids: [0, 10, 3, 3] };
    ok(await run('embeddingCase', c));
    ok(await run('embeddingCase', { ...c, maxBinding: smallBinding(dtype, 160) }));
  });
});
