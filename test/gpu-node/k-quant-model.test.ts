/**
 * A K-quant model end to end: synthetic weights at widths that are whole 256-element super-blocks
 * (the shared models are 64 and 128 wide), written as llama.cpp's Q4_K_M and Q5_K_M would, loaded
 * back, and scored on the same ids: the CPU reference gives the same NLL as on its dequantized f32
 * copy, and WebGPU (the K-quant kernels) is within 1e-3 of it.
 */
import { describe, expect, it } from 'vitest';
import { getTestDevice, rng } from '../helpers/gpu';
import { syntheticGguf, type TinyShape } from '../fixtures/model-builders';
import { parseGguf } from '../../src/model/gguf';
import { quantizedGguf, type QuantPreset } from '../../src/model/gguf-quantize';
import { dequantize } from '../../src/model/dtypes';
import { createBackend } from '../../src/engine/create-backend';
import type { ModelDescription, Tensor } from '../../src/model/types';

const shape: TinyShape = { dim: 256, heads: 4, kvHeads: 2, ff: 512, vocab: 512, layers: 2 };
const none = { kind: 'none' } as const;

function f32Copy(m: ModelDescription): ModelDescription {
  const copies = new Map<Tensor, Tensor>();
  const tensors = new Map<string, Tensor>();
  for (const [name, t] of m.tensors) {
    if (!copies.has(t)) copies.set(t, { ...t, dtype: 'f32', data: new Uint8Array(dequantize(t).buffer) });
    tensors.set(name, copies.get(t)!);
  }
  return { ...m, tensors };
}

const mean = (a: Float64Array) => a.reduce((s, v) => s + v, 0) / a.length;

describe.each<QuantPreset>(['Q4_K_M', 'Q5_K_M'])('a %s model of synthetic weights 256 wide', (preset) => {
  const source = parseGguf(syntheticGguf(shape, 'f32', { scale: 0.08 }).bytes, none);
  const { bytes, types } = quantizedGguf(source, preset);
  const model = parseGguf(bytes, none);
  const r = rng(7);
  const ids = Array.from({ length: 48 }, () => Math.floor(r() * shape.vocab));

  it('holds K-quants only (the rows allow them), as llama.cpp picks them', () => {
    const base = preset === 'Q4_K_M' ? 'q4_k' : 'q5_k';
    // use_more_bits(layer, 2) picks layer 1 of 2 for attn_v and ffn_down; the output is Q6_K.
    expect(types.get('token_embd.weight')).toBe(base);
    expect(types.get('output.weight')).toBe('q6_k');
    expect(types.get('blk.0.attn_v.weight')).toBe(base);
    expect(types.get('blk.1.attn_v.weight')).toBe('q6_k');
    expect(types.get('blk.1.ffn_down.weight')).toBe('q6_k');
    expect(types.get('blk.0.ffn_gate.weight')).toBe(base);
    expect(model.tensors.get('model.layers.0.self_attn.q_proj.weight')!.dtype).toBe(base);
  });

  it('CPU reference: the same NLL as the dequantized f32 copy; WebGPU within 1e-3', async () => {
    const cpu = await createBackend(model, 'cpu');
    const cpuF32 = await createBackend(f32Copy(model), 'cpu');
    const q = await cpu.nll(ids);
    const f = await cpuF32.nll(ids);
    expect(q).toEqual(f);
    // Not a degenerate model: the predictions are far from uniform and differ from token to token.
    expect(Math.max(...f) - Math.min(...f)).toBeGreaterThan(1);
    const gpu = await createBackend(model, 'webgpu', { gpu: await getTestDevice() });
    try {
      const g = await gpu.nll(ids);
      expect(Math.abs(mean(g) - mean(f))).toBeLessThan(1e-3);
      for (let i = 0; i < f.length; i++) expect(Math.abs(g[i] - f[i])).toBeLessThan(1e-2);
    } finally {
      gpu.dispose();
      cpu.dispose();
      cpuF32.dispose();
    }
  });
});
