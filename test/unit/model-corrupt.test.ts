/** Every corrupt or unsupported input gets its typed error and a message saying what is wrong. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ModelFormatError, UnsupportedModelError } from '../../src/errors';
import { parseSafetensors } from '../../src/model/safetensors';
import { parseGguf } from '../../src/model/gguf';
import { parseLlama2c } from '../../src/model/llama2c';
import { parseHfConfig } from '../../src/model/hf';
import { writeGguf } from '../../src/model/gguf-writer';
import { stories260K, tinystories656k } from '../helpers/models';

function safetensors(header: object, dataBytes: number, headerLenOverride?: number): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLenOverride ?? json.length), true);
  out.set(json, 8);
  return out;
}

function problem(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof ModelFormatError) return e.problem;
    if (e instanceof UnsupportedModelError) return `unsupported: ${e.message}`;
    throw e;
  }
  return 'no error';
}

describe('safetensors', () => {
  const ok = { a: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] }, b: { dtype: 'F16', shape: [4], data_offsets: [16, 24] } };
  it('parses a valid file into views', () => {
    const t = parseSafetensors(safetensors(ok, 24));
    expect(t.get('a')!.shape).toEqual([2, 2]);
    expect(t.get('b')!.data.byteLength).toBe(8);
  });
  it.each([
    ['truncated', () => parseSafetensors(new Uint8Array(5))],
    ['header-out-of-range', () => parseSafetensors(safetensors(ok, 24, 1 << 20))],
    ['bad-header', () => parseSafetensors(new Uint8Array([4, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7b, 0x7b, 0x7b]))],
    ['tensor-out-of-range', () => parseSafetensors(safetensors(ok, 20))],
    ['tensor-overlap', () => parseSafetensors(safetensors({ a: ok.a, b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, 24))],
    ['size-mismatch', () => parseSafetensors(safetensors({ a: { dtype: 'F32', shape: [3, 2], data_offsets: [0, 16] } }, 16))],
    ['unknown-dtype', () => parseSafetensors(safetensors({ a: { dtype: 'Q9', shape: [4], data_offsets: [0, 16] } }, 16))],
  ])('%s', (expected, fn) => expect(problem(fn)).toBe(expected));
  it('names a known but unsupported dtype', () => {
    expect(problem(() => parseSafetensors(safetensors({ a: { dtype: 'I8', shape: [4], data_offsets: [0, 4] } }, 4)))).toMatch(/unsupported: .*I8/);
  });
  it('a truncated real checkpoint fails, a whole one loads', () => {
    const file = new Uint8Array(readFileSync(`${tinystories656k.dir}/model.safetensors`));
    expect(parseSafetensors(file).size).toBeGreaterThan(10);
    expect(problem(() => parseSafetensors(file.subarray(0, file.length - 100)))).toBe('tensor-out-of-range');
    expect(problem(() => parseSafetensors(file.subarray(0, 100)))).toBe('header-out-of-range');
  });
});

describe('config.json', () => {
  const base = { architectures: ['LlamaForCausalLM'], hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, vocab_size: 100 };
  it('rejects other architectures by name', () => {
    expect(() => parseHfConfig({ ...base, architectures: ['GPT2LMHeadModel'], model_type: 'gpt2' }, null)).toThrow(/GPT2LMHeadModel/);
    expect(() => parseHfConfig({ ...base, architectures: ['Qwen2ForCausalLM'] }, null)).toThrow(UnsupportedModelError);
  });
  it('reads Llama-3 rope scaling, head_dim, GQA and eos lists', () => {
    const c = parseHfConfig(
      { ...base, num_key_value_heads: 2, head_dim: 32, rope_theta: 500000, eos_token_id: [5, 6], rope_scaling: { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 } },
      null,
    );
    expect(c).toMatchObject({ numKvHeads: 2, headDim: 32, eosTokenIds: [5, 6], rope: { theta: 500000, layout: 'half', scaling: { factor: 32, originalMaxPositionEmbeddings: 8192 } } });
  });
  it('reads Mistral sliding_window and rejects unknown rope scaling', () => {
    expect(parseHfConfig({ ...base, architectures: ['MistralForCausalLM'], sliding_window: 4096 }, null)).toMatchObject({ architecture: 'mistral', slidingWindow: 4096 });
    expect(() => parseHfConfig({ ...base, rope_scaling: { type: 'yarn', factor: 4 } }, null)).toThrow(/yarn/);
    expect(problem(() => parseHfConfig({ ...base, hidden_size: -1 }, null))).toBe('bad-config');
  });
});

describe('GGUF', () => {
  const real = new Uint8Array(readFileSync(tinystories656k.gguf));
  const none = { kind: 'none' } as const;
  it('loads the real Q8_0 file', () => {
    const m = parseGguf(real, none);
    expect(m.config).toMatchObject({ hiddenSize: 128, numLayers: 2, numHeads: 8, numKvHeads: 4, vocabSize: 2048 });
    expect(m.tensors.get('model.layers.0.self_attn.q_proj.weight')!.dtype).toBe('q8_0');
  });
  it.each([
    ['truncated inside the header', 200, 'truncated'],
    ['truncated inside the data', real.length - 1000, 'tensor-out-of-range'],
  ])('%s', (_, length, expected) => expect(problem(() => parseGguf(real.subarray(0, length), none))).toBe(expected));
  it('bad magic', () => expect(problem(() => parseGguf(new TextEncoder().encode('GGML-not-gguf'), none))).toBe('bad-header'));

  const meta: [string, string | number][] = [
    ['general.architecture', 'llama'], ['llama.embedding_length', 32], ['llama.block_count', 1], ['llama.feed_forward_length', 64],
    ['llama.attention.head_count', 4], ['llama.context_length', 128],
  ];
  const f32 = (shape: number[]) => new Uint8Array(shape.reduce((a, b) => a * b, 1) * 4);
  const tensors = () => [
    { name: 'token_embd.weight', dtype: 'f32' as const, shape: [10, 32], data: f32([10, 32]) },
    { name: 'output_norm.weight', dtype: 'f32' as const, shape: [32], data: f32([32]) },
    ...['attn_q', 'attn_k', 'attn_v', 'attn_output'].map((n) => ({ name: `blk.0.${n}.weight`, dtype: 'f32' as const, shape: [32, 32], data: f32([32, 32]) })),
    { name: 'blk.0.attn_norm.weight', dtype: 'f32' as const, shape: [32], data: f32([32]) },
    { name: 'blk.0.ffn_norm.weight', dtype: 'f32' as const, shape: [32], data: f32([32]) },
    { name: 'blk.0.ffn_gate.weight', dtype: 'f32' as const, shape: [64, 32], data: f32([64, 32]) },
    { name: 'blk.0.ffn_up.weight', dtype: 'f32' as const, shape: [64, 32], data: f32([64, 32]) },
    { name: 'blk.0.ffn_down.weight', dtype: 'f32' as const, shape: [32, 64], data: f32([32, 64]) },
  ];
  it('a synthetic model loads (tied output)', () => {
    const m = parseGguf(writeGguf(meta, tensors()), none);
    expect(m.config.tieWordEmbeddings).toBe(true);
    expect(m.tensors.get('lm_head.weight')).toBe(m.tensors.get('model.embed_tokens.weight'));
  });
  it('missing tensor', () => expect(problem(() => parseGguf(writeGguf(meta, tensors().filter((t) => t.name !== 'blk.0.ffn_up.weight')), none))).toBe('missing-tensor'));
  it('shape mismatch with the metadata', () => {
    const ts = tensors();
    ts[9] = { ...ts[9], shape: [48, 32], data: f32([48, 32]) };
    expect(problem(() => parseGguf(writeGguf(meta, ts), none))).toBe('size-mismatch');
  });
  it('unsupported architecture by name', () => expect(problem(() => parseGguf(writeGguf([['general.architecture', 'falcon']], []), none))).toMatch(/unsupported: .*falcon/));
  it('unsupported tensor type by name (Q4_K)', () => {
    const file = writeGguf(meta, tensors());
    // Patch the first tensor's type field (after its name, n_dims and dims) to 12 = Q4_K.
    const name = new TextEncoder().encode('token_embd.weight');
    const at = findBytes(file, name) + name.length + 4 + 16;
    new DataView(file.buffer).setUint32(at, 12, true);
    expect(problem(() => parseGguf(file, none))).toMatch(/unsupported: .*Q4_K/);
    new DataView(file.buffer).setUint32(at, 99, true);
    expect(problem(() => parseGguf(file, none))).toBe('unknown-dtype');
  });
  it('overlapping and out-of-range tensor offsets', () => {
    const file = writeGguf(meta, tensors());
    const name = new TextEncoder().encode('output_norm.weight');
    const offsetAt = findBytes(file, name) + name.length + 4 + 8 + 4;
    const dv = new DataView(file.buffer);
    dv.setBigUint64(offsetAt, 0n, true);
    expect(problem(() => parseGguf(file, none))).toBe('tensor-overlap');
    dv.setBigUint64(offsetAt, BigInt(file.length), true);
    expect(problem(() => parseGguf(file, none))).toBe('tensor-out-of-range');
  });
});

describe('llama2.c', () => {
  const real = new Uint8Array(readFileSync(stories260K.bin));
  const none = { kind: 'none' } as const;
  it('loads the real file with a shared classifier', () => {
    const m = parseLlama2c(real, none);
    expect(m.config).toMatchObject({ hiddenSize: 64, intermediateSize: 172, numLayers: 5, numHeads: 8, numKvHeads: 4, vocabSize: 512, rope: { layout: 'interleaved' } });
    expect(m.tensors.get('lm_head.weight')).toBe(m.tensors.get('model.embed_tokens.weight'));
  });
  it('an unshared classifier (negative vocab) is read after the RoPE tables', () => {
    const extra = new Uint8Array(512 * 64 * 4).fill(7);
    const file = new Uint8Array(real.length + extra.length);
    file.set(real);
    file.set(extra, real.length);
    new DataView(file.buffer).setInt32(20, -512, true);
    const m = parseLlama2c(file, none);
    expect(m.config.tieWordEmbeddings).toBe(false);
    expect(m.tensors.get('lm_head.weight')!.data[0]).toBe(7);
  });
  it.each([
    ['truncated header', () => parseLlama2c(real.subarray(0, 20), none), 'truncated'],
    ['truncated weights', () => parseLlama2c(real.subarray(0, real.length - 4), none), 'truncated'],
    ['implausible header', () => {
      const f = real.slice();
      new DataView(f.buffer).setInt32(12, 7, true);
      return parseLlama2c(f, none);
    }, 'bad-header'],
  ])('%s', (_, fn, expected) => expect(problem(fn)).toBe(expected));
});

function findBytes(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  throw new Error('not found');
}
