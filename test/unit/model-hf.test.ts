/** Hugging Face folders: config.json -> ModelConfig, (sharded) safetensors, tied embeddings, tokenizer files. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UnsupportedModelError } from '../../src/errors';
import { loadHf, parseHfConfig } from '../../src/model/hf';
import { parseSafetensors } from '../../src/model/safetensors';
import { nodeDirSource } from '../../src/model/sources';
import { tensorNames, type LoadProgress } from '../../src/model/types';
import { expectFormatError, expectFormatErrorAsync, memoryFolder, safetensorsOf } from '../fixtures/model-builders';
import { tinystories656k } from '../helpers/models';
import { scratchDir } from '../helpers/scratch';

const base = { architectures: ['LlamaForCausalLM'], hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, vocab_size: 100 };

describe('config.json', () => {
  it('fills Hugging Face defaults: kv heads = heads, head_dim = hidden / heads, theta 10000, untied', () => {
    expect(parseHfConfig(base, null)).toEqual({
      architecture: 'llama', hiddenSize: 64, intermediateSize: 128, numLayers: 2, numHeads: 4, numKvHeads: 4, headDim: 16, vocabSize: 100,
      maxPositionEmbeddings: 2048, rmsNormEps: 1e-6, rope: { theta: 10000, layout: 'half', scaling: null }, slidingWindow: null,
      tieWordEmbeddings: false, bosTokenId: null, eosTokenIds: [],
    });
  });
  it('reads an explicit head_dim, GQA, theta and eos lists from both files', () => {
    const c = parseHfConfig({ ...base, num_key_value_heads: 2, head_dim: 32, rope_theta: 500000, bos_token_id: 1, eos_token_id: 5 }, { eos_token_id: [5, 6] });
    expect(c).toMatchObject({ numKvHeads: 2, headDim: 32, rope: { theta: 500000 }, bosTokenId: 1, eosTokenIds: [5, 6] });
  });
  it.each(['rope_type', 'type'])('reads Llama-3 rope scaling (key %s)', (key) => {
    const rope_scaling = { [key]: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 };
    expect(parseHfConfig({ ...base, rope_scaling }, null).rope.scaling).toEqual({ type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 });
  });
  it('rejects other rope scalings by name, and incomplete llama3 ones', () => {
    expect(() => parseHfConfig({ ...base, rope_scaling: { type: 'yarn', factor: 4 } }, null)).toThrow(UnsupportedModelError);
    expect(() => parseHfConfig({ ...base, rope_scaling: { rope_type: 'linear', factor: 4 } }, null)).toThrow(/linear/);
    expect(parseHfConfig({ ...base, rope_scaling: { rope_type: 'default' } }, null).rope.scaling).toBeNull();
    expectFormatError(() => parseHfConfig({ ...base, rope_scaling: { rope_type: 'llama3', factor: 8 } }, null), 'bad-config');
  });
  it('Mistral: sliding_window, or null when absent or null', () => {
    const mistral = { ...base, architectures: ['MistralForCausalLM'], model_type: 'mistral' };
    expect(parseHfConfig({ ...mistral, sliding_window: 4096 }, null)).toMatchObject({ architecture: 'mistral', slidingWindow: 4096 });
    expect(parseHfConfig({ ...mistral, sliding_window: null }, null).slidingWindow).toBeNull();
    expect(parseHfConfig(mistral, null).slidingWindow).toBeNull();
  });
  it('model_type decides when architectures is absent', () => {
    expect(parseHfConfig({ ...base, architectures: undefined, model_type: 'mistral' }, null).architecture).toBe('mistral');
  });
  it.each([
    [{ architectures: ['GPT2LMHeadModel'], model_type: 'gpt2' }, /GPT2LMHeadModel/],
    [{ architectures: ['Qwen2MoeForCausalLM'], model_type: 'qwen2_moe' }, /Qwen2MoeForCausalLM/],
    [{ architectures: ['LlamaForSequenceClassification'], model_type: 'llama' }, /LlamaForSequenceClassification/],
    [{ architectures: undefined, model_type: 'phi3' }, /phi3/],
    [{ hidden_act: 'gelu' }, /gelu/],
    [{ attention_bias: true }, /bias/],
  ])('rejects %j as unsupported, by name', (patch, name) => {
    const f = () => parseHfConfig({ ...base, ...patch }, null);
    expect(f).toThrow(UnsupportedModelError);
    expect(f).toThrow(name);
  });
  it.each([{ hidden_size: -1 }, { num_hidden_layers: 1.5 }, { vocab_size: '100' }, { num_key_value_heads: 3 }, { head_dim: 15 }])('bad values (%j) are bad-config', (patch) =>
    expectFormatError(() => parseHfConfig({ ...base, ...patch }, null), 'bad-config'));
});

describe('the shared TinyStories-656K folder', () => {
  it('loads the config, the tokenizer files and generation_config.json', async () => {
    const m = await loadHf(nodeDirSource(tinystories656k.dir));
    expect(m.format).toBe('safetensors');
    expect(m.config).toEqual({
      architecture: 'llama', hiddenSize: 128, intermediateSize: 384, numLayers: 2, numHeads: 8, numKvHeads: 4, headDim: 16, vocabSize: 2048,
      maxPositionEmbeddings: 512, rmsNormEps: 1e-6, rope: { theta: 10000, layout: 'half', scaling: null }, slidingWindow: null,
      tieWordEmbeddings: true, bosTokenId: 1, eosTokenIds: [2],
    });
    expect(m.tokenizer.kind).toBe('hf');
    if (m.tokenizer.kind === 'hf') {
      expect((m.tokenizer.tokenizerJson as { model: { type: string } }).model.type).toBe('BPE');
      expect(m.tokenizer.tokenizerConfig).not.toBeNull();
    }
    expect(m.generationConfig).toMatchObject({ bos_token_id: 1, eos_token_id: 2 });
  });
  it('the file stores only lm_head.weight: both names map to that one Tensor', async () => {
    const m = await loadHf(nodeDirSource(tinystories656k.dir));
    const head = m.tensors.get(tensorNames.lmHead)!;
    expect(m.tensors.get(tensorNames.embed)).toBe(head);
    expect(head.shape).toEqual([2048, 128]);
    expect(m.tensors.get(tensorNames.layer(1).k)!.shape).toEqual([64, 128]);
    expect(m.tensors.get(tensorNames.layer(1).down)!.shape).toEqual([128, 384]);
  });
  it('reports monotone progress over the weights and tokenizer.json, ending at the total', async () => {
    const events: LoadProgress[] = [];
    await loadHf(nodeDirSource(tinystories656k.dir), { onProgress: (p) => events.push(p) });
    for (let i = 1; i < events.length; i++) expect(events[i].loaded).toBeGreaterThanOrEqual(events[i - 1].loaded);
    const size = (f: string) => readFileSync(join(tinystories656k.dir, f)).length;
    expect(events.at(-1)).toMatchObject({ loaded: size('model.safetensors') + size('tokenizer.json'), total: size('model.safetensors') + size('tokenizer.json') });
    expect(events.some((e) => e.file === 'tokenizer.json')).toBe(true);
  });
});

describe('synthetic folders', () => {
  const cfg = { ...base, hidden_size: 8, intermediate_size: 16, num_hidden_layers: 1, num_attention_heads: 2, vocab_size: 10 };
  const f32 = (...shape: number[]) => ({ dtype: 'F32', shape, data: new Uint8Array(shape.reduce((a, b) => a * b, 4)) });
  const weights = (): Record<string, ReturnType<typeof f32>> => {
    const n = tensorNames.layer(0);
    return {
      [tensorNames.embed]: f32(10, 8), [tensorNames.finalNorm]: f32(8), [tensorNames.lmHead]: f32(10, 8),
      [n.attnNorm]: f32(8), [n.q]: f32(8, 8), [n.k]: f32(8, 8), [n.v]: f32(8, 8), [n.o]: f32(8, 8),
      [n.mlpNorm]: f32(8), [n.gate]: f32(16, 8), [n.up]: f32(16, 8), [n.down]: f32(8, 16),
    };
  };
  const load = (w: ReturnType<typeof weights>, config: object = cfg) => loadHf(memoryFolder({ 'config.json': config, 'model.safetensors': safetensorsOf(w) }));

  it('loads, untied, without a tokenizer', async () => {
    const m = await load(weights());
    expect(m.config.tieWordEmbeddings).toBe(false);
    expect(m.tensors.get(tensorNames.lmHead)).not.toBe(m.tensors.get(tensorNames.embed));
    expect(m.tokenizer).toEqual({ kind: 'none' });
    expect(m.generationConfig).toBeNull();
  });
  it('only the embedding stored: lm_head is the same Tensor', async () => {
    const w = weights();
    delete w[tensorNames.lmHead];
    const m = await load(w);
    expect(m.config.tieWordEmbeddings).toBe(true);
    expect(m.tensors.get(tensorNames.lmHead)).toBe(m.tensors.get(tensorNames.embed));
  });
  it('tie_word_embeddings with both stored: one Tensor serves both', async () => {
    const m = await load(weights(), { ...cfg, tie_word_embeddings: true });
    expect(m.tensors.get(tensorNames.lmHead)).toBe(m.tensors.get(tensorNames.embed));
  });
  it('a missing tensor', async () => {
    const w = weights();
    delete w[tensorNames.layer(0).up];
    await expectFormatErrorAsync(load(w), 'missing-tensor');
  });
  it('only lm_head stored while the config says untied: the embedding is missing', async () => {
    const w = weights();
    delete w[tensorNames.embed];
    await expectFormatErrorAsync(load(w, { ...cfg, tie_word_embeddings: false }), 'missing-tensor');
  });
  it('a tensor whose shape disagrees with the config', async () => {
    await expectFormatErrorAsync(load({ ...weights(), [tensorNames.layer(0).gate]: f32(12, 8) }), 'size-mismatch');
  });
  it('no config.json, bad JSON, no weights', async () => {
    await expectFormatErrorAsync(loadHf(memoryFolder({ 'model.safetensors': safetensorsOf(weights()) })), 'missing-file');
    await expectFormatErrorAsync(loadHf(memoryFolder({ 'config.json': '{"hidden_size": 8,', 'model.safetensors': safetensorsOf(weights()) })), 'bad-config');
    await expectFormatErrorAsync(loadHf(memoryFolder({ 'config.json': cfg })), 'missing-file');
  });
  it('an unsupported architecture fails before any weight is read', async () => {
    await expect(loadHf(memoryFolder({ 'config.json': { ...cfg, architectures: ['FalconForCausalLM'] } }))).rejects.toThrow(UnsupportedModelError);
  });
});

describe('sharded safetensors', () => {
  it('model.safetensors.index.json joins the shards into the same model, in views of each shard', async () => {
    const dir = scratchDir('d2o-shards-');
    const whole = parseSafetensors(new Uint8Array(readFileSync(join(tinystories656k.dir, 'model.safetensors'))));
    const names = [...whole.keys()];
    const weightMap: Record<string, string> = {};
    [names.slice(0, 7), names.slice(7)].forEach((shard, i) => {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      writeFileSync(join(dir, file), safetensorsOf(Object.fromEntries(shard.map((n) => [n, { dtype: 'F32', shape: whole.get(n)!.shape, data: whole.get(n)!.data }]))));
      for (const n of shard) weightMap[n] = file;
    });
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }));
    writeFileSync(join(dir, 'config.json'), readFileSync(join(tinystories656k.dir, 'config.json')));

    const events: LoadProgress[] = [];
    const m = await loadHf(nodeDirSource(dir), { onProgress: (p) => events.push(p) });
    for (const [n, t] of whole) expect(Buffer.from(m.tensors.get(n)!.data).equals(Buffer.from(t.data)), n).toBe(true);
    expect(new Set(events.map((e) => e.file))).toEqual(new Set(['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']));
    expect(events.at(-1)!.loaded).toBe(events.at(-1)!.total);
    for (let i = 1; i < events.length; i++) expect(events[i].loaded).toBeGreaterThanOrEqual(events[i - 1].loaded);
  });
  it('a shard named in the index but absent', async () => {
    const folder = memoryFolder({ 'config.json': base, 'model.safetensors.index.json': { weight_map: { 'x.weight': 'model-00001-of-00001.safetensors' } } });
    await expectFormatErrorAsync(loadHf(folder), 'missing-file');
  });
});
