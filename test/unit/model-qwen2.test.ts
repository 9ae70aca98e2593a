/**
 * Qwen2 (Qwen2ForCausalLM; GGUF `qwen2`) at Qwen2.5-0.5B-Instruct's real config (../shared/hf-real)
 * with synthetic weights, shrunk to 2 layers and a 2048-token vocabulary (every width, head count,
 * RoPE theta, tying and bias as shipped), and the checks that refuse files mislabelled as another
 * architecture or untied without their LM head.
 */
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../src/model/load';
import { parseHfConfig } from '../../src/model/hf';
import { parseGguf } from '../../src/model/gguf';
import { quantizedGguf } from '../../src/model/gguf-quantize';
import { dequantize } from '../../src/model/dtypes';
import { cpuWeights } from '../../src/cpu/weights';
import { RunState, forward } from '../../src/cpu/forward';
import { CpuKvCache } from '../../src/cpu/kv-cache';
import { createBackend } from '../../src/engine/create-backend';
import { ModelFormatError, UnsupportedModelError } from '../../src/errors';
import { tensorNames } from '../../src/model/types';
import { HF_REAL, hfRealJson, syntheticHfFolder } from '../fixtures/hf-real';
import { randomFloats } from '../cases/random';

const config = hfRealJson(HF_REAL.qwen25, 'config.json')!;
const generation = hfRealJson(HF_REAL.qwen25, 'generation_config.json');
const small = { ...config, num_hidden_layers: 2, vocab_size: 2048, bos_token_id: 1, eos_token_id: 2 };
const load = (cfg: Record<string, unknown>, o?: Parameters<typeof syntheticHfFolder>[2]) => loadModel({ source: syntheticHfFolder(cfg, null, o) });
const ids = [1, 17, 900, 4, 2047, 33, 33, 512];
let shared: Promise<{ m: Awaited<ReturnType<typeof load>>; gguf: ReturnType<typeof quantizedGguf> }> | undefined;
/** The small Qwen2 and its Q8_0 GGUF, made once for the tests that only read them. */
const sharedModel = () =>
  (shared ??= load(small).then((m) => ({ m, gguf: quantizedGguf(m, 'Q8_0') })));

describe('Qwen2.5-0.5B-Instruct config', () => {
  it('parses as qwen2: 896 wide, 14 query heads over 2 KV heads of 64, theta 1e6, tied, no window', () => {
    expect(parseHfConfig(config, generation)).toMatchObject({
      architecture: 'qwen2', hiddenSize: 896, intermediateSize: 4864, numLayers: 24, numHeads: 14, numKvHeads: 2, headDim: 64,
      vocabSize: 151936, rope: { theta: 1e6, layout: 'half', scaling: null }, slidingWindow: null, tieWordEmbeddings: true, eosTokenIds: [151645, 151643],
    });
  });
  it('refuses use_sliding_window (windowed attention on some layers)', () => {
    expect(() => parseHfConfig({ ...config, use_sliding_window: true }, null)).toThrow(UnsupportedModelError);
  });
});

describe('Qwen2 forward pass (CPU reference)', () => {
  it('loads q/k/v biases and adds them after the projections', async () => {
    const { m } = await sharedModel();
    expect(m.tensors.get(tensorNames.layer(1).kBias)!.shape).toEqual([128]);
    expect(m.tensors.get(tensorNames.lmHead)).toBe(m.tensors.get(tensorNames.embed));
    // The same weights with the biases zeroed give other logits: the biases are used.
    const w = cpuWeights(m);
    const cache = () => new CpuKvCache(m.config.numLayers, m.config.numKvHeads, m.config.headDim);
    const withBias = Float32Array.from(forward(w, new RunState(w), cache(), 5, 0));
    for (const l of w.layers) for (const b of Object.values(l.qkvBias!)) b.fill(0);
    const without = forward(w, new RunState(w), cache(), 5, 0);
    expect(withBias.some((v, i) => Math.abs(v - without[i]) > 1e-3)).toBe(true);
  });

  it('GGUF qwen2: the same model written as Q8_0 and read back (q/k rows unpermuted, biases f32) scores as its dequantized weights', async () => {
    const { m, gguf: { bytes, types } } = await sharedModel();
    expect(types.get('blk.0.attn_q.bias')).toBe('f32');
    const g = parseGguf(bytes, { kind: 'none' });
    expect(g.config).toEqual(m.config);
    const q = tensorNames.layer(0).q;
    // Row order kept: each row of the GGUF q is the Q8_0 of the same row of the source.
    const a = dequantize(m.tensors.get(q)!);
    const b = dequantize(g.tensors.get(q)!);
    expect(b.every((v, i) => Math.abs(v - a[i]) < 0.05 / 127 + 1e-7)).toBe(true);
    expect(dequantize(g.tensors.get(tensorNames.layer(1).vBias)!)).toEqual(dequantize(m.tensors.get(tensorNames.layer(1).vBias)!));
    const mean = (x: Float64Array) => x.reduce((s, v) => s + v, 0) / x.length;
    const f = mean(await (await createBackend(m, 'cpu')).nll(ids));
    const q8 = mean(await (await createBackend(g, 'cpu')).nll(ids));
    expect(Math.abs(q8 - f)).toBeLessThan(0.01);
  });
});

describe('no silent mis-loads', () => {
  it('a Qwen2 file relabelled LlamaForCausalLM is refused, naming the biases it would drop', async () => {
    const e = await load(small, { asConfig: { ...small, architectures: ['LlamaForCausalLM'], model_type: 'llama' } }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UnsupportedModelError);
    expect(String(e)).toMatch(/model\.layers\.0\.self_attn\.q_proj\.bias/);
  });
  it('Transformers\' cached rotary_emb.inv_freq is known to be harmless', async () => {
    const m = await load(small, { extra: { 'model.layers.0.self_attn.rotary_emb.inv_freq': randomFloats(32, 3) } });
    expect(m.config.architecture).toBe('qwen2');
  });
  it('an unknown tensor in a GGUF is refused by name', async () => {
    const bytes = (await sharedModel()).gguf.bytes.slice();
    // Rename a bias to a name no architecture here uses (same length keeps the file valid).
    const at = Buffer.from(bytes).indexOf('blk.1.attn_q.bias');
    bytes.set(new TextEncoder().encode('blk.1.attn_x.bias'), at);
    expect(() => parseGguf(bytes, { kind: 'none' })).toThrow(/blk\.1\.attn_x\.bias/);
  });
  it('tie_word_embeddings false without lm_head.weight is a ModelFormatError, not a silent tie', async () => {
    const e = await load(small, { asConfig: { ...small, tie_word_embeddings: false } }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ModelFormatError);
    expect((e as ModelFormatError).problem).toBe('missing-tensor');
    expect(String(e)).toMatch(/lm_head\.weight/);
  });
});
