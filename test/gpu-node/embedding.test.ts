import { describe, expect, it } from 'vitest';
import { getTestDevice } from '../helpers/gpu';
import { embeddingCase } from '../cases/weights-kernels';
import type { DType } from '../../src/model/types';

const ok = (r: { ok: boolean }) => expect(r.ok, JSON.stringify(r)).toBe(true);

describe('embedding gather (exact) vs the dequantized rows', () => {
  for (const dtype of ['f32', 'f16', 'bf16', 'q8_0', 'q4_0'] as DType[]) {
    const colsList = dtype.startsWith('q') ? [32, 96, 288] : [1, 3, 33, 64];
    it.each(colsList)(`${dtype} cols %i`, async (cols) => {
      const ctx = await getTestDevice();
      ok(await embeddingCase(ctx, { dtype, vocab: 37, cols, ids: [0] }));
      ok(await embeddingCase(ctx, { dtype, vocab: 37, cols, ids: [0, 36, 5] }));
      ok(await embeddingCase(ctx, { dtype, vocab: 37, cols, ids: Array.from({ length: 17 }, (_, i) => (i * 11) % 37) }));
    });
  }

  it.each(['f32', 'f16', 'q8_0', 'q4_0'] as DType[])('%s row-sliced (larger than one binding)', async (dtype) => {
    const r = await embeddingCase(await getTestDevice(), { dtype, vocab: 37, cols: 64, ids: [0, 36, 5, 5, 17, 20, 1, 35], maxBinding: dtype === 'f16' ? 1024 : dtype === 'q8_0' ? 512 : 256 });
    expect(r.slices).toBeGreaterThan(4);
    ok(r);
  });

  it('clamps an id past the vocabulary to the last row', async () => {
    const ctx = await getTestDevice();
    const a = await embeddingCase(ctx, { dtype: 'f16', vocab: 9, cols: 8, ids: [8] });
    ok(a);
    // Compare the gather of id 1000 with the gather of id 8 (the last row) by hand.
    const { EmbeddingKernel } = await import('../../src/gpu/embedding');
    const { uploadTensor } = await import('../../src/gpu/weights');
    const { randomWeight } = await import('../cases/weights-kernels');
    const { StepParams } = await import('../../src/gpu/step-params');
    const { readF32, storageBuffer } = await import('../../src/gpu/buffers');
    const { dequantize } = await import('../../src/model/dtypes');
    const t = randomWeight('f16', 9, 8, 9);
    const weight = uploadTensor(ctx, t);
    const out = storageBuffer(ctx.device, 8 * 4);
    const step = new StepParams(ctx.device);
    step.write({ pos0: 0, nTokens: 1, step: 0, seed: 0 });
    const k = new EmbeddingKernel(ctx).bind({ weight, ids: storageBuffer(ctx.device, Uint32Array.of(1000)), out, step: step.buffer });
    const enc = ctx.device.createCommandEncoder();
    const pass = enc.beginComputePass();
    k.encode(pass, { tokens: 1 });
    pass.end();
    ctx.device.queue.submit([enc.finish()]);
    expect([...(await readF32(ctx.device, out, 8))]).toEqual([...dequantize(t).subarray(64, 72)]);
  });
});
