import { describe, expect, it } from 'vitest';
import { getTestDevice } from '../helpers/gpu';
import { gluCase, matvecCase, type ProductResult } from '../cases/weights-kernels';
import type { DType } from '../../src/model/types';

const ok = (r: ProductResult) => expect(r.ok, JSON.stringify(r)).toBe(true);
const FLOAT: DType[] = ['f32', 'f16', 'bf16'];
const QUANT: DType[] = ['q8_0', 'q4_0'];
const ROWS = [1, 7, 65, 257, 1000];

describe.each(['simple', 'tiled'] as const)('matvec %s vs the float64 reference on the dequantized weights', (variant) => {
  for (const dtype of [...FLOAT, ...QUANT]) {
    const colsList = FLOAT.includes(dtype) ? [1, 3, 33, 64] : [32, 96, 288];
    it.each(ROWS.flatMap((rows) => colsList.map((cols) => ({ rows, cols }))))(`${dtype} %o`, async ({ rows, cols }) => {
      ok(await matvecCase(await getTestDevice(), { dtype, variant, rows, cols, seed: rows * 7 + cols }));
    });
  }

  it.each([...FLOAT, ...QUANT])('%s accumulates into y (fused residual add), with x and y offsets', async (dtype) => {
    const cols = FLOAT.includes(dtype) ? 37 : 96;
    ok(await matvecCase(await getTestDevice(), { dtype, variant, rows: 65, cols, accumulate: true, xOffset: 5, rowOffset: 3 }));
  });

  it.each([
    { dtype: 'f32', cols: 64 },
    { dtype: 'f16', cols: 33 },
    { dtype: 'bf16', cols: 31 },
    { dtype: 'q8_0', cols: 96 },
    { dtype: 'q4_0', cols: 64 },
  ] as { dtype: DType; cols: number }[])('splits $dtype weights larger than a binding into row slices (cols $cols)', async ({ dtype, cols }) => {
    const r = await matvecCase(await getTestDevice(), { dtype, variant, rows: 257, cols, maxBinding: 1000, accumulate: true, rowOffset: 2 });
    expect(r.slices).toBeGreaterThan(4);
    ok(r);
  });

  it('wraps more workgroups than a dimension holds into a 2-D dispatch (forced small)', async () => {
    const ctx = await getTestDevice();
    // simple: 64 rows per workgroup, 16 groups as 4 x 4, 11 as 4 x 3 with one idle; tiled: a group of 8 rows
    // per workgroup for f16 / q8_0 (125 groups as 40 x 4, 88 as 27 x 4).
    ok(await matvecCase(ctx, { dtype: 'f16', variant, rows: 1000, cols: 64, maxGroups: variant === 'simple' ? 4 : 40, accumulate: true }));
    ok(await matvecCase(ctx, { dtype: 'q8_0', variant, rows: 700, cols: 64, maxGroups: variant === 'simple' ? 4 : 27 }));
  });

  it.each([
    { dtype: 'f32', cols: 37, parts: [5, 11], bias: true },
    { dtype: 'f16', cols: 64, parts: [9, 18], bias: false },
    { dtype: 'q8_0', cols: 96, parts: [33], bias: true },
    { dtype: 'q4_k', cols: 256, parts: [64, 80], bias: true },
  ] as { dtype: DType; cols: number; parts: number[]; bias: boolean }[])('$dtype fused weight: parts $parts in their own buffers, bias $bias', async ({ dtype, cols, parts, bias }) => {
    ok(await matvecCase(await getTestDevice(), { dtype, variant, rows: 97, cols, parts, bias }));
    ok(await matvecCase(await getTestDevice(), { dtype, variant, rows: 97, cols, parts, bias, maxBinding: 2048 }));
  });

  it.each([
    { dtype: 'f32', rows: 2, cols: 37 },
    { dtype: 'f16', rows: 46, cols: 64 },
    { dtype: 'q8_0', rows: 98, cols: 96, maxBinding: 1600 },
    { dtype: 'q4_k', rows: 70, cols: 256 },
  ] as { dtype: DType; rows: number; cols: number; maxBinding?: number }[])('$dtype gate/up interleaved in pairs, $rows rows: SiLU(gate) * up (simple) or both de-interleaved (tiled)', async (c) => {
    const r = await gluCase(await getTestDevice(), { ...c, variant });
    expect(r.applied).toBe(variant === 'simple');
    expect(r.ok, JSON.stringify(r)).toBe(true);
  });

  it('adds a bias while accumulating', async () => {
    ok(await matvecCase(await getTestDevice(), { dtype: 'q8_0', variant, rows: 65, cols: 96, accumulate: true, bias: true, rowOffset: 3 }));
  });

  it('rejects q8_0 / q4_0 widths that are not whole blocks', async () => {
    await expect(matvecCase(await getTestDevice(), { dtype: 'q8_0', variant, rows: 2, cols: 48 })).rejects.toThrow(/multiple of 32 columns/);
  });
});

describe('matvec reduction and f16 paths', () => {
  it('tiled with subgroups when the device has them, and with the workgroup-memory tree', async () => {
    const ctx = await getTestDevice();
    const sg = await matvecCase(ctx, { dtype: 'q8_0', variant: 'tiled', rows: 65, cols: 288, subgroups: true });
    expect(sg.subgroups).toBe(ctx.info.hasSubgroups);
    ok(sg);
    const tree = await matvecCase(ctx, { dtype: 'q8_0', variant: 'tiled', rows: 65, cols: 288, subgroups: false });
    expect(tree.subgroups).toBe(false);
    ok(tree);
  });

  it.each(['simple', 'tiled'] as const)('native f16 (shader-f16) %s', async (variant) => {
    for (const cols of [3, 33, 64]) {
      const r = await matvecCase(await getTestDevice(), { dtype: 'f16', variant, rows: 65, cols, f16: 'native', accumulate: cols === 33 });
      expect(r.f16).toBe((await getTestDevice()).info.hasF16 ? 'native' : 'packed');
      ok(r);
    }
  });

  it('f16 weights: tiled reads native f16 by default where the device has shader-f16 (lavapipe does), simple stays packed', async () => {
    const ctx = await getTestDevice();
    expect(ctx.info.hasF16).toBe(true);
    const tiled = await matvecCase(ctx, { dtype: 'f16', variant: 'tiled', rows: 65, cols: 64 });
    expect(tiled.f16).toBe('native');
    ok(tiled);
    const simple = await matvecCase(ctx, { dtype: 'f16', variant: 'simple', rows: 65, cols: 64 });
    expect(simple.f16).toBe('packed');
    ok(simple);
  });

  // The row-group path of the tiled variant (f16, q8_0: 8 rows per workgroup) with packed f16, as on
  // an adapter without shader-f16; odd rows read the group's zero padding, odd widths the element path.
  it.each([1, 7, 9, 65, 257].flatMap((rows) => [1, 3, 33, 64].map((cols) => ({ rows, cols }))))('tiled, packed f16 %o', async ({ rows, cols }) => {
    const r = await matvecCase(await getTestDevice(), { dtype: 'f16', variant: 'tiled', rows, cols, f16: 'packed', accumulate: rows === 9, seed: rows + cols });
    expect(r.f16).toBe('packed');
    ok(r);
  });

  it('more than 65535 workgroups: the 2-D dispatch of the tiled variant', async () => {
    ok(await matvecCase(await getTestDevice(), { dtype: 'q4_0', variant: 'tiled', rows: 65537 + 64, cols: 32 }));
    // Row groups of 8: 65,538 workgroups.
    ok(await matvecCase(await getTestDevice(), { dtype: 'f16', variant: 'tiled', rows: 8 * 65537 + 5, cols: 4 }));
  });
});
