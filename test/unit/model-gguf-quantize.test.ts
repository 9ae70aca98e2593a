/** Quantized GGUFs as llama-quantize writes them: its type choices, and TinyStories-656K as Q4_K_M. */
import { describe, expect, it } from 'vitest';
import { llamaCppTensorType, quantizedGguf } from '../../src/model/gguf-quantize';
import { parseGguf } from '../../src/model/gguf';
import { loadModel } from '../../src/model/load';
import { dequantize } from '../../src/model/dtypes';
import { createBackend } from '../../src/engine/create-backend';
import { tensorNames } from '../../src/model/types';
import { golden, tinystories656k } from '../helpers/models';

describe('llamaCppTensorType (Q4_K_M unless said)', () => {
  it('Llama-3.2-1B (2048 wide, 16 layers, tied): K-quants everywhere, Q6_K for the tied embedding and the use_more_bits layers', () => {
    const t = (name: string, cols = 2048) => llamaCppTensorType(name, [512, cols], 'Q4_K_M', 16, true);
    expect(t('token_embd.weight')).toBe('q6_k');
    expect(t('blk.0.attn_q.weight')).toBe('q4_k');
    expect(['blk.0', 'blk.1', 'blk.2', 'blk.4', 'blk.7', 'blk.14'].map((b) => t(`${b}.attn_v.weight`))).toEqual(['q6_k', 'q6_k', 'q4_k', 'q6_k', 'q6_k', 'q6_k']);
    expect(t('blk.3.ffn_down.weight', 8192)).toBe('q4_k');
    expect(t('blk.0.attn_norm.weight')).toBe('q4_k');
    expect(llamaCppTensorType('blk.0.attn_norm.weight', [2048], 'Q4_K_M', 16, true)).toBe('f32');
  });
  it('Qwen2.5-0.5B (896 wide, 24 layers, tied): the fallbacks Q5_0 and Q8_0 where rows are not whole super-blocks', () => {
    const t = (name: string, cols = 896) => llamaCppTensorType(name, [128, cols], 'Q4_K_M', 24, true);
    expect(t('token_embd.weight')).toBe('q8_0');
    expect(t('blk.3.attn_q.weight')).toBe('q5_0');
    expect(t('blk.0.attn_v.weight')).toBe('q8_0');
    expect(t('blk.3.attn_v.weight')).toBe('q5_0');
    expect(t('blk.0.ffn_down.weight', 4864)).toBe('q6_k');
    expect(t('blk.3.ffn_down.weight', 4864)).toBe('q4_k');
    expect(llamaCppTensorType('blk.3.attn_q.weight', [128, 896], 'Q5_K_M', 24, true)).toBe('q5_1');
    expect(llamaCppTensorType('blk.3.attn_q.weight', [128, 896], 'Q6_K', 24, true)).toBe('q8_0');
    expect(llamaCppTensorType('blk.3.attn_q.weight', [128, 40], 'Q4_K_M', 24, true)).toBe('f16');
  });
  it('an untied output matrix gets Q6_K, the embedding the base type', () => {
    expect(llamaCppTensorType('output.weight', [32000, 2048], 'Q4_K_M', 22, false)).toBe('q6_k');
    expect(llamaCppTensorType('token_embd.weight', [32000, 2048], 'Q4_K_M', 22, false)).toBe('q4_k');
    expect(llamaCppTensorType('token_embd.weight', [32000, 2048], 'Q5_K_M', 22, false)).toBe('q5_k');
  });
});

describe('TinyStories-656K as Q4_K_M (128 wide: every matrix takes a fallback)', () => {
  it('writes Q5_0 and Q8_0 where llama.cpp does, loads back, and scores close to the f32 model', async () => {
    const model = await loadModel(tinystories656k.dir);
    const { bytes, types } = quantizedGguf(model, 'Q4_K_M');
    const counts: Record<string, number> = {};
    for (const t of types.values()) counts[t] = (counts[t] ?? 0) + 1;
    expect(counts).toEqual({ f32: 5, q5_0: 12, q8_0: 3 });
    const q = parseGguf(bytes, model.tokenizer);
    expect(q.config).toEqual(model.config);
    for (const name of [tensorNames.embed, tensorNames.layer(1).q, tensorNames.layer(0).down]) {
      const a = dequantize(model.tensors.get(name)!);
      const b = dequantize(q.tensors.get(name)!);
      const amax = a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      expect(b.every((v, i) => Math.abs(v - a[i]) <= amax / 8)).toBe(true);
    }
    const ids = golden['tinystories-656k'].greedy_ids;
    const mean = (x: Float64Array) => x.reduce((s, v) => s + v, 0) / x.length;
    const f32 = mean(await (await createBackend(model, 'cpu')).nll(ids));
    const q4 = mean(await (await createBackend(q, 'cpu')).nll(ids));
    expect(Math.abs(q4 - f32)).toBeLessThan(0.05 * f32);
  });
});
