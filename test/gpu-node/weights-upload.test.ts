import { describe, expect, it } from 'vitest';
import { getTestDevice } from '../helpers/gpu';
import { randomWeight, uploadCase } from '../cases/weights-kernels';
import { gpuRowBytes, rowGroup, uploadTensor } from '../../src/gpu/weights';
import type { DType } from '../../src/model/types';

describe('uploadTensor: GPU layouts of docs/gpu-kernels.md', () => {
  it.each([
    { dtype: 'f32', rows: 7, cols: 33 },
    { dtype: 'f16', rows: 7, cols: 33 },
    { dtype: 'f16', rows: 1, cols: 1 },
    { dtype: 'bf16', rows: 5, cols: 3 },
    { dtype: 'q8_0', rows: 7, cols: 96 },
    { dtype: 'q8_0', rows: 1, cols: 32 },
    { dtype: 'q4_0', rows: 7, cols: 96 },
    { dtype: 'q4_0', rows: 3, cols: 288 },
  ] as { dtype: DType; rows: number; cols: number }[])('$dtype [$rows, $cols] in one slice', async (c) => {
    const r = await uploadCase(await getTestDevice(), c);
    expect(r.layoutOk).toBe(true);
    expect(r.slices).toHaveLength(1);
    expect(r.bytes).toBe(r.slices[0].dataBytes + r.slices[0].scalesBytes);
    // Only padding to 16 bytes on top of the payload (the grouped layouts hold whole groups of rows).
    const held = Math.ceil(c.rows / rowGroup(c.dtype)) * rowGroup(c.dtype);
    expect(r.slices[0].dataBytes).toBe(Math.max(16, Math.ceil((held * gpuRowBytes(c.dtype, c.cols)) / 16) * 16));
    expect(r.destroyedOk).toBe(true);
  });

  it.each([
    { dtype: 'f32', rows: 257, cols: 33, maxBinding: 1000 },
    { dtype: 'f16', rows: 257, cols: 33, maxBinding: 1000 },
    { dtype: 'bf16', rows: 100, cols: 7, maxBinding: 64 },
    { dtype: 'q8_0', rows: 65, cols: 96, maxBinding: 1000 },
    { dtype: 'q4_0', rows: 65, cols: 288, maxBinding: 500 },
    // A whole-binding slice: 4 rows of 256 bytes in 1024.
    { dtype: 'f32', rows: 9, cols: 64, maxBinding: 1024 },
  ] as { dtype: DType; rows: number; cols: number; maxBinding: number }[])('$dtype [$rows, $cols] in row slices of at most $maxBinding bytes', async (c) => {
    const r = await uploadCase(await getTestDevice(), c);
    expect(r.layoutOk).toBe(true);
    expect(r.slices.length).toBeGreaterThan(1);
    // Whole rows (hence whole blocks), contiguous, covering the matrix; every buffer fits a binding.
    let next = 0;
    for (const s of r.slices) {
      expect(s.rowStart).toBe(next);
      expect(s.rows).toBe(Math.min(r.rowsPerSlice, c.rows - s.rowStart));
      expect(s.dataBytes).toBeLessThanOrEqual(c.maxBinding);
      expect(s.scalesBytes).toBeLessThanOrEqual(c.maxBinding);
      next += s.rows;
    }
    expect(next).toBe(c.rows);
    // As many rows (whole groups of them) as fit.
    expect((r.rowsPerSlice + rowGroup(c.dtype)) * gpuRowBytes(c.dtype, c.cols)).toBeGreaterThan(c.maxBinding);
    expect(r.rowsPerSlice % rowGroup(c.dtype)).toBe(0);
    expect(r.bytes).toBe(r.slices.reduce((a, s) => a + s.dataBytes + s.scalesBytes, 0));
    expect(r.destroyedOk).toBe(true);
  });

  it('rejects quantized widths that are not whole blocks, and rows larger than a binding', async () => {
    const ctx = await getTestDevice();
    const t = randomWeight('q4_0', 2, 48, 1);
    expect(() => uploadTensor(ctx, t)).toThrow(/q4_0 weights need a multiple of 32 columns/);
    expect(() => uploadTensor(ctx, randomWeight('f32', 2, 64, 1), { maxBinding: 128 })).toThrow(/exceeds the 128-byte storage binding limit/);
    expect(() => uploadTensor(ctx, { ...randomWeight('f16', 4, 4, 1), shape: [5, 4] })).toThrow(/needs 40/);
  });

  it('uses the device limit by default (lavapipe: 128 MiB) and keeps a 1-D tensor as one row', async () => {
    const ctx = await getTestDevice();
    const t = randomWeight('f32', 1, 10, 1);
    const g = uploadTensor(ctx, { ...t, shape: [10] });
    expect([g.rows, g.cols, g.slices.length, g.rowsPerSlice]).toEqual([1, 10, 1, 1]);
    g.destroy();
  });
});
