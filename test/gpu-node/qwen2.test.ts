/**
 * Qwen2 on WebGPU (the q/k/v bias kernel) against the CPU reference, at Qwen2.5-0.5B-Instruct's real
 * config (../shared/hf-real) with synthetic weights, shrunk to 2 layers and a 2048-token vocabulary.
 */
import { describe, expect, it } from 'vitest';
import { getTestDevice } from '../helpers/gpu';
import { HF_REAL, hfRealJson, syntheticHfFolder } from '../fixtures/hf-real';
import { loadModel } from '../../src/model/load';
import { createBackend } from '../../src/engine/create-backend';

const config = hfRealJson(HF_REAL.qwen25, 'config.json')!;
const small = { ...config, num_hidden_layers: 2, vocab_size: 2048, bos_token_id: 1, eos_token_id: 2 };
const ids = [1, 17, 900, 4, 2047, 33, 33, 512, 7, 1999, 64, 3];

describe('Qwen2 (q/k/v biases, tied embeddings, theta 1e6) on WebGPU vs the CPU reference', () => {
  it('scores the same ids within 1e-3 NLL per token, prefill chunk and decode steps alike', async () => {
    const model = await loadModel({ source: syntheticHfFolder(small, null) });
    const cpu = await createBackend(model, 'cpu');
    const gpu = await createBackend(model, 'webgpu', { gpu: await getTestDevice() });
    try {
      for (const promptTokens of [1, 6]) {
        cpu.reset();
        gpu.reset();
        const want = await cpu.nll(ids, undefined, promptTokens);
        const got = await gpu.nll(ids, undefined, promptTokens);
        for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i]), `token ${i + 1}`).toBeLessThan(1e-3);
      }
    } finally {
      gpu.dispose();
      cpu.dispose();
    }
  });
});
