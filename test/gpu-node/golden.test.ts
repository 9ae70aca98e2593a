import { describe, expect, it } from 'vitest';
import { getTestDevice } from '../helpers/gpu';
import { greedyCase, nllCase } from '../cases/golden';
import { golden, stories260K, tinystories656k } from '../helpers/models';
import { CpuBackend } from '../../src/cpu/backend';
import { loadModel } from '../../src/model/load';
import { dequantize } from '../../src/model/dtypes';
import { quantize } from '../../src/model/quantize';
import type { ModelDescription } from '../../src/model/types';

/** The model with every matrix stored as f16 (the CPU reads the same rounded weights). */
function withF16Matrices(m: ModelDescription): ModelDescription {
  const tensors = new Map([...m.tensors].map(([name, t]) => [name, t.shape.length === 2 ? { ...t, dtype: 'f16' as const, data: quantize('f16', dequantize(t)) } : t]));
  return { ...m, tensors };
}

describe.each(['simple', 'tiled'] as const)('WebGPU backend (%s kernels) reproduces golden.json', (variant) => {
  it('stories260K, all 346 steps', async () => {
    const g = golden.stories260K;
    expect(await greedyCase(await getTestDevice(), { model: stories260K.bin, prompt: g.prompt_ids, tokens: g.greedy_ids.length - 1, variant })).toEqual(g.greedy_ids);
  });
  it('TinyStories-656K, all 200 steps', async () => {
    const g = golden['tinystories-656k'];
    expect(await greedyCase(await getTestDevice(), { model: tinystories656k.dir, prompt: g.prompt_ids, tokens: g.greedy_ids.length - 1, variant })).toEqual(g.greedy_ids);
  });
});

describe('teacher-forced NLL on the GPU is within 1e-3 of the CPU backend', () => {
  it.each([
    ['stories260K', stories260K.bin, golden.stories260K.greedy_ids],
    ['TinyStories-656K', tinystories656k.dir, golden['tinystories-656k'].greedy_ids],
    ['TinyStories-656K Q8_0', tinystories656k.gguf, golden['tinystories-656k'].greedy_ids],
  ])('%s, prefill chunks of 32 and of 7', async (_, path, ids) => {
    const cpu = Array.from(await new CpuBackend(await loadModel(path)).nll(ids));
    for (const maxChunk of [32, 7]) {
      const gpu = await nllCase(await getTestDevice(), { model: path, ids, maxChunk });
      expect(gpu).toHaveLength(cpu.length);
      const worst = Math.max(...gpu.map((x, i) => Math.abs(x - cpu[i])));
      expect(worst).toBeLessThan(1e-3);
    }
  });

  // The tiled kernels' row-group products: Q8_0, and f16 read as native f16 (lavapipe has shader-f16).
  it.each([
    ['TinyStories-656K Q8_0', () => loadModel(tinystories656k.gguf)],
    ['TinyStories-656K as f16', async () => withF16Matrices(await loadModel(tinystories656k.dir))],
  ])('%s, tiled kernels, prefill chunks of 32 and of 7', async (_, load) => {
    const ids = golden['tinystories-656k'].greedy_ids;
    const model = await load();
    const cpu = Array.from(await new CpuBackend(model).nll(ids));
    for (const maxChunk of [32, 7]) {
      const gpu = await nllCase(await getTestDevice(), { model, ids, maxChunk, variant: 'tiled' });
      expect(gpu).toHaveLength(cpu.length);
      const worst = Math.max(...gpu.map((x, i) => Math.abs(x - cpu[i])));
      expect(worst).toBeLessThan(1e-3);
    }
  });

  it('a prompt prefilled in chunks gives the same greedy continuation', async () => {
    const g = golden['tinystories-656k'];
    const prompt = g.greedy_ids.slice(0, 45);
    const ids = await greedyCase(await getTestDevice(), { model: tinystories656k.dir, prompt, tokens: 40, maxChunk: 8 });
    expect(ids).toEqual(g.greedy_ids.slice(0, 85));
  });
});
