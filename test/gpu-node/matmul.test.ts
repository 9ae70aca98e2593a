import { describe, expect, it } from 'vitest';
import { getTestDevice } from '../helpers/gpu';
import { gluCase, matmulCase, type ProductResult } from '../cases/weights-kernels';
import type { DType } from '../../src/model/types';

const ok = (r: ProductResult) => expect(r.ok, JSON.stringify(r)).toBe(true);
const FLOAT: DType[] = ['f32', 'f16', 'bf16'];
const QUANT: DType[] = ['q8_0', 'q4_0'];

// Every format x variant x rows {1, 7, 65, 257, 1000} x cols x T {1, 3, 17} (T = 1 is the matvec
// path of the same wrapper). 1000 rows x 17 tokens keeps a case under ~50 ms on lavapipe.
describe.each(['simple', 'tiled'] as const)('matmul %s vs the float64 reference on the dequantized weights', (variant) => {
  for (const dtype of [...FLOAT, ...QUANT]) {
    const colsList = FLOAT.includes(dtype) ? [1, 3, 33, 64] : [32, 96, 288];
    const cases = [1, 7, 65, 257, 1000].flatMap((rows) => colsList.flatMap((cols) => [1, 3, 17].map((tokens) => ({ rows, cols, tokens }))));
    it.each(cases)(`${dtype} %o`, async ({ rows, cols, tokens }) => {
      ok(await matmulCase(await getTestDevice(), { dtype, variant, rows, cols, tokens, seed: rows * 31 + cols + tokens }));
    });
  }

  it.each([...FLOAT, ...QUANT])('%s accumulates into Y (fused residual add), with x and y offsets', async (dtype) => {
    const cols = FLOAT.includes(dtype) ? 37 : 96;
    for (const tokens of [1, 5, 40]) ok(await matmulCase(await getTestDevice(), { dtype, variant, rows: 65, cols, tokens, accumulate: true, xOffset: 3, rowOffset: 7 }));
  });

  it.each([
    { dtype: 'f32', cols: 64 },
    { dtype: 'f16', cols: 33 },
    { dtype: 'bf16', cols: 31 },
    { dtype: 'q8_0', cols: 96 },
    { dtype: 'q4_0', cols: 64 },
  ] as { dtype: DType; cols: number }[])('splits $dtype weights larger than a binding into row slices (cols $cols)', async ({ dtype, cols }) => {
    const r = await matmulCase(await getTestDevice(), { dtype, variant, rows: 257, cols, tokens: 5, maxBinding: 1000, accumulate: true });
    expect(r.slices).toBeGreaterThan(4);
    ok(r);
  });

  it.each([
    { dtype: 'f32', cols: 37, parts: [5, 11], bias: true, tokens: 7 },
    { dtype: 'f16', cols: 64, parts: [9, 18], bias: false, tokens: 33 },
    { dtype: 'q8_0', cols: 96, parts: [33], bias: true, tokens: 5 },
  ] as { dtype: DType; cols: number; parts: number[]; bias: boolean; tokens: number }[])('$dtype fused weight: parts $parts in their own buffers [T, part rows], bias $bias, T $tokens', async ({ dtype, cols, parts, bias, tokens }) => {
    ok(await matmulCase(await getTestDevice(), { dtype, variant, rows: 97, cols, parts, bias, tokens }));
    ok(await matmulCase(await getTestDevice(), { dtype, variant, rows: 97, cols, parts, bias, tokens, maxBinding: 2048 }));
  });

  it.each([
    { dtype: 'f16', rows: 46, cols: 64, tokens: 5 },
    { dtype: 'q8_0', rows: 98, cols: 96, tokens: 33, maxBinding: 1600 },
    { dtype: 'f32', rows: 6, cols: 37, tokens: 1 },
  ] as { dtype: DType; rows: number; cols: number; tokens: number; maxBinding?: number }[])('$dtype gate/up interleaved in pairs, T $tokens: both de-interleaved into [T, rows] (T = 1: the matvec)', async (c) => {
    const r = await gluCase(await getTestDevice(), { ...c, variant });
    expect(r.applied).toBe(variant === 'simple' && c.tokens === 1);
    expect(r.ok, JSON.stringify(r)).toBe(true);
  });

  it('a full prefill chunk of 64 tokens (two token tiles)', async () => {
    ok(await matmulCase(await getTestDevice(), { dtype: 'q4_0', variant, rows: 100, cols: 288, tokens: 64 }));
  });

  it('wraps row groups past a dimension into z (forced small)', async () => {
    const ctx = await getTestDevice();
    // simple: 128 rows x 8 tokens per workgroup (2000 rows: 16 groups as 6 x 3; the bound single-token
    // matvec, 64 rows per workgroup, needs 32 <= 6 * 6); tiled: 32 x 32 (1080 rows: 34 groups as 17 x 2;
    // the matvec, a workgroup per row, needs 1080 <= 33 * 33).
    const [rows, maxGroups] = variant === 'simple' ? [2000, 6] : [1080, 33];
    ok(await matmulCase(ctx, { dtype: 'f32', variant, rows, cols: 64, tokens: 6, maxGroups }));
    ok(await matmulCase(ctx, { dtype: 'q4_0', variant, rows, cols: 64, tokens: variant === 'simple' ? 7 : 37, maxGroups, accumulate: true }));
  });

  it('x at an offset of whole vec4s (simple: vec4 loads) and not (scalar loads), across token and row tiles, a shorter last block', async () => {
    const ctx = await getTestDevice();
    for (const xOffset of [0, 4, 6])
      for (const [dtype, cols] of [['f16', 96], ['q8_0', 96], ['f32', 100]] as [DType, number][])
        ok(await matmulCase(ctx, { dtype, variant, rows: 300, cols, tokens: 19, xOffset, rowOffset: 5, accumulate: xOffset > 0, seed: xOffset + 1 }));
  });

  it('native f16 (shader-f16), and packed', async () => {
    for (const cols of [3, 64]) ok(await matmulCase(await getTestDevice(), { dtype: 'f16', variant, rows: 65, cols, tokens: 6, f16: 'native' }));
    for (const tokens of [1, 6]) {
      const r = await matmulCase(await getTestDevice(), { dtype: 'f16', variant, rows: 65, cols: 33, tokens, f16: 'packed' });
      expect(r.f16).toBe('packed');
      ok(r);
    }
  });

  it(`f16 weights read ${variant === 'tiled' ? 'as native f16 (lavapipe has shader-f16)' : 'packed'} by default`, async () => {
    const r = await matmulCase(await getTestDevice(), { dtype: 'f16', variant, rows: 65, cols: 64, tokens: 6 });
    expect(r.f16).toBe(variant === 'tiled' ? 'native' : 'packed');
    ok(r);
  });
});

// The simple kernel's tile is a compile-time constant: other tiles (odd ones included) against the reference,
// on sizes that are not multiples of them, through each weight path (32-column blocks with a scale,
// without one and with a shorter last block, odd widths).
describe.each([
  { rows: 3, tokens: 5, workgroup: 7 },
  { rows: 1, tokens: 1, workgroup: 1 },
])('simple matmul with tile %o', (tile) => {
  it.each([
    { dtype: 'q8_0', cols: 96 },
    { dtype: 'f16', cols: 36 },
    { dtype: 'bf16', cols: 33 },
  ] as { dtype: DType; cols: number }[])('$dtype cols $cols', async ({ dtype, cols }) => {
    const ctx = await getTestDevice();
    for (const [rows, tokens] of [[23, 11], [1, 2], [130, 17]]) ok(await matmulCase(ctx, { dtype, variant: 'simple', rows, cols, tokens, tile, seed: rows + tokens }));
    ok(await matmulCase(ctx, { dtype, variant: 'simple', rows: 50, cols, tokens: 9, tile, accumulate: true, xOffset: 3, rowOffset: 2, maxBinding: 40 * cols }));
  });
});

describe('matmul encode', () => {
  it('needs the token count unless bound with fixedTokens', async () => {
    const { MatmulKernel } = await import('../../src/gpu/matmul');
    const { uploadTensor } = await import('../../src/gpu/weights');
    const { randomWeight } = await import('../cases/weights-kernels');
    const ctx = await getTestDevice();
    const { device } = ctx;
    const w = uploadTensor(ctx, randomWeight('f32', 4, 4, 1));
    const buf = () => device.createBuffer({ size: 64, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.UNIFORM });
    const bound = new MatmulKernel(ctx).bind({ weight: w, x: buf(), y: buf(), step: buf() });
    const pass = { setPipeline() {}, setBindGroup() {}, dispatchWorkgroups() {} } as unknown as GPUComputePassEncoder;
    expect(() => bound.encode(pass)).toThrow(/needs \{ tokens \}/);
    w.destroy();
  });
});
