import { describe, expect, it } from 'vitest';
import { getTestDevice } from '../helpers/gpu';
import { matmulCase } from '../cases/matmul';
import type { DType } from '../../src/model/types';

const floatShapes = [
  [1, 1], [7, 3], [65, 33], [257, 129], [1000, 64],
] as const;
const blockShapes = [
  [1, 32], [7, 96], [65, 288], [1000, 64],
] as const;

describe.each(['simple', 'tiled'] as const)('matmul %s vs CPU reference', (variant) => {
  for (const dtype of ['f32', 'f16', 'bf16', 'q8_0', 'q4_0'] as DType[]) {
    const shapes = dtype.startsWith('q') ? blockShapes : floatShapes;
    it.each(shapes.flatMap(([rows, cols]) => [1, 3, 17].map((tokens) => ({ rows, cols, tokens }))))(`${dtype} %o`, async ({ rows, cols, tokens }) => {
      const r = await matmulCase(await getTestDevice(), { dtype, variant, rows, cols, tokens, seed: rows * 31 + cols + tokens });
      expect(r, JSON.stringify(r)).toMatchObject({ ok: true });
    });
  }

  it('accumulates into y (fused residual add)', async () => {
    const r = await matmulCase(await getTestDevice(), { dtype: 'q8_0', variant, rows: 65, cols: 96, tokens: 3, accumulate: true });
    expect(r.ok, JSON.stringify(r)).toBe(true);
  });

  it.each(['f32', 'f16', 'q4_0'] as DType[])('splits %s weights larger than a binding into row slices', async (dtype) => {
    const r = await matmulCase(await getTestDevice(), { dtype, variant, rows: 257, cols: 64, tokens: 5, maxBinding: 4096 });
    expect(r.slices).toBeGreaterThan(1);
    expect(r.ok, JSON.stringify(r)).toBe(true);
  });
});
