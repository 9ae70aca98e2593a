/**
 * The f16 KV cache on WebGPU: native `f16` storage (lavapipe has shader-f16) and halves packed in
 * u32 (what SwiftShader runs; test/browser/policy.test.ts) both equal the CPU reference, which rounds
 * to f16 the same way, step by step under d2o; and f16 costs a mean |dNLL| below 0.01 per token
 * against f32 on both shared models.
 */
import { describe, expect, it } from 'vitest';
import { getTestDevice } from '../helpers/gpu';
import { policyCase } from '../cases/policy';
import { golden, stories260K, tinystories656k } from '../helpers/models';
import { loadModel } from '../../src/model/load';
import { WebGpuBackend } from '../../src/gpu/backend';

const models = [
  ['stories260K', stories260K.bin, golden.stories260K.greedy_ids],
  ['TinyStories-656K', tinystories656k.dir, golden['tinystories-656k'].greedy_ids],
] as const;

describe.each(models)('f16 KV cache on %s', (_, model, ids) => {
  it.each(['native', 'packed'] as const)('%s f16: GPU equals the CPU reference step by step (d2o 24 tokens, chunks of 40)', async (kvF16) => {
    const ctx = await getTestDevice();
    const r = await policyCase(ctx, { model, prompt: ids.slice(0, 100), steps: 60, prefillChunk: 40, kvDtype: 'f16', kvF16, kv: { policy: 'd2o', budget: { kind: 'tokens', tokens: 24 } } });
    expect(r.mismatch).toBeNull();
    expect(r.nativeF16).toBe(kvF16 === 'native' && ctx.info.hasF16);
    expect(r.chunks).toBe(3);
    expect(r.merges).toBeGreaterThan(0);
    // Slots, positions, victims and merge counts agree exactly (the mismatch check). Values: f32
    // projections that differ in their last bits (GPU and CPU sum in different orders) can round to
    // neighbouring halves, 2^-11 apart relatively, and merges average such values, round again, and
    // can be merged into again: a few f16 steps of the row. A key a step off moves each attention
    // probability by about that relative amount, and scores sum hundreds of probabilities.
    console.log(`${kvF16}: worst K/V difference ${r.worstKv.toExponential(2)} (${r.worstKvUlp.toFixed(2)} f16 steps of its row), score ${r.worstScore.toExponential(2)}, tau ${r.worstTau.toExponential(2)}`);
    expect(r.worstKvUlp).toBeLessThanOrEqual(4);
    expect(r.worstScore).toBeLessThan(1e-2);
    expect(r.worstTau).toBeLessThan(1e-3);
  });

  it('f16 against f32: mean |dNLL| per token below 0.01, the goldens unchanged with f32', async () => {
    const ctx = await getTestDevice();
    const m = await loadModel(model);
    const nll = async (kvDtype: 'f16' | 'f32') => {
      const b = await WebGpuBackend.create(m, { ctx, kvDtype });
      try {
        return await b.nll(ids);
      } finally {
        b.dispose();
      }
    };
    const [f32, f16] = [await nll('f32'), await nll('f16')];
    const d = f32.map((x, i) => Math.abs(x - f16[i]));
    const mean = d.reduce((a, b) => a + b, 0) / d.length;
    expect(mean).toBeLessThan(0.01);
    expect(mean).toBeGreaterThan(0);
    console.log(`${_}: mean |dNLL| f16 vs f32 = ${mean.toExponential(2)} over ${d.length} tokens`);
  });
});
