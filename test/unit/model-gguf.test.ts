/** GGUF: metadata -> ModelConfig, canonical names, and a typed error for every corruption. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { UnsupportedModelError } from '../../src/errors';
import { llama3RopeDivisors, parseGguf, parseGgufHeader } from '../../src/model/gguf';
import { writeGguf, type GgufMetadataEntry } from '../../src/model/gguf-writer';
import { tensorNames, type TokenizerSource } from '../../src/model/types';
import { expectFormatError, f32Bytes, findBytes, llamaMetadata, syntheticGguf, tiny } from '../fixtures/model-builders';
import { tinystories656k } from '../helpers/models';

const none: TokenizerSource = { kind: 'none' };
const real = new Uint8Array(readFileSync(tinystories656k.gguf));

describe('the shared Q8_0 file', () => {
  it('header: version 3, 20 tensors, the raw metadata kept for callers', () => {
    const m = parseGguf(real, none);
    expect(m.gguf.version).toBe(3);
    expect(m.gguf.tensorInfos).toHaveLength(20);
    expect(m.gguf.metadata.get('tokenizer.ggml.model')).toBe('llama');
    expect((m.gguf.metadata.get('tokenizer.ggml.tokens') as string[])[1]).toBe('<|start_story|>');
  });
  it('config from the metadata matches config.json', () => {
    expect(parseGguf(real, none).config).toEqual({
      architecture: 'llama', hiddenSize: 128, intermediateSize: 384, numLayers: 2, numHeads: 8, numKvHeads: 4, headDim: 16, vocabSize: 2048,
      maxPositionEmbeddings: 512, rmsNormEps: 1e-6, rope: { theta: 10000, layout: 'half', scaling: null }, slidingWindow: null,
      tieWordEmbeddings: true, bosTokenId: 1, eosTokenIds: [2],
    });
  });
  it('canonical names and [rows, cols] shapes; no output.weight means tied; q/k are copies, the rest views', () => {
    const m = parseGguf(real, none);
    expect(m.tensors.size).toBe(21);
    const q = m.tensors.get(tensorNames.layer(0).q)!;
    expect(q).toMatchObject({ name: tensorNames.layer(0).q, dtype: 'q8_0', shape: [128, 128] });
    expect(q.data.buffer).not.toBe(real.buffer);
    expect(m.tensors.get(tensorNames.layer(0).k)!.shape).toEqual([64, 128]);
    expect(m.tensors.get(tensorNames.layer(0).down)!.shape).toEqual([128, 384]);
    expect(m.tensors.get(tensorNames.layer(0).v)!.data.buffer).toBe(real.buffer);
    expect(m.tensors.get(tensorNames.lmHead)).toBe(m.tensors.get(tensorNames.embed));
    expect(m.tensors.get(tensorNames.finalNorm)!.dtype).toBe('f32');
  });
});

describe('truncation and corrupt headers', () => {
  const g = parseGgufHeader(real);
  it('a cut anywhere in the header is truncated (every 97th byte)', () => {
    for (let n = 0; n < g.dataOffset; n += 97) expectFormatError(() => parseGguf(real.subarray(0, n), none), n < 4 ? 'bad-header' : 'truncated');
  });
  it('a cut in the data section puts tensors out of range', () => {
    for (const n of [g.dataOffset, g.dataOffset + 1000, real.length - 1]) expectFormatError(() => parseGguf(real.subarray(0, n), none), 'tensor-out-of-range');
  });
  it('wrong magic', () => expectFormatError(() => parseGguf(new TextEncoder().encode('GGML-not-gguf'), none), 'bad-header'));
  it('version 1 is unsupported; version 2 reads like 3', () => {
    const f = real.slice();
    new DataView(f.buffer).setUint32(4, 1, true);
    expect(() => parseGguf(f, none)).toThrow(UnsupportedModelError);
    new DataView(f.buffer).setUint32(4, 2, true);
    expect(parseGguf(f, none).gguf.version).toBe(2);
  });
  it('an unknown metadata value type', () => {
    const f = real.slice();
    new DataView(f.buffer).setUint32(findBytes(f, 'general.architecture') + 'general.architecture'.length, 99, true);
    expectFormatError(() => parseGguf(f, none), 'bad-header');
  });
  it('a string length past 2^53', () => {
    const f = real.slice();
    new DataView(f.buffer).setBigUint64(findBytes(f, 'general.architecture') - 8, 1n << 60n, true);
    expectFormatError(() => parseGguf(f, none), 'bad-header');
  });
  it('a huge array length ends in truncated, not a hang', () => {
    const f = real.slice();
    const at = findBytes(f, 'tokenizer.ggml.scores') + 'tokenizer.ggml.scores'.length + 8;
    new DataView(f.buffer).setBigUint64(at, 1n << 40n, true);
    expectFormatError(() => parseGguf(f, none), 'truncated');
  });
  it('general.alignment of 0', () => {
    const { bytes } = syntheticGguf(tiny, 'f32', { metadata: [...llamaMetadata(tiny), ['general.alignment', 64]] });
    expect(parseGgufHeader(bytes).alignment).toBe(64);
    new DataView(bytes.buffer).setUint32(findBytes(bytes, 'general.alignment') + 'general.alignment'.length + 4, 0, true);
    expectFormatError(() => parseGgufHeader(bytes), 'bad-header');
  });
});

describe('corrupt tensor tables', () => {
  /** Byte offset of a field of the first tensor-table entry for `name`, after its name and dims. */
  const field = (bytes: Uint8Array, name: string, nDims: number, which: 'type' | 'offset') =>
    findBytes(bytes, name) + name.length + 4 + 8 * nDims + (which === 'type' ? 0 : 4);

  it('an unsupported type is named (Q3_K = 11); an unknown id is unknown-dtype', () => {
    const { bytes } = syntheticGguf(tiny, 'f32');
    const at = field(bytes, 'token_embd.weight', 2, 'type');
    new DataView(bytes.buffer).setUint32(at, 11, true);
    expect(() => parseGguf(bytes, none)).toThrow(UnsupportedModelError);
    expect(() => parseGguf(bytes, none)).toThrow(/Q3_K/);
    new DataView(bytes.buffer).setUint32(at, 99, true);
    expectFormatError(() => parseGguf(bytes, none), 'unknown-dtype');
  });
  it('overlapping tensors, then a tensor past the end', () => {
    const { bytes } = syntheticGguf(tiny, 'f32');
    const at = field(bytes, 'output_norm.weight', 1, 'offset');
    const dv = new DataView(bytes.buffer);
    dv.setBigUint64(at, 0n, true);
    expectFormatError(() => parseGguf(bytes, none), 'tensor-overlap');
    dv.setBigUint64(at, BigInt(bytes.length), true);
    expectFormatError(() => parseGguf(bytes, none), 'tensor-out-of-range');
  });
  it('a quantized row that is not whole blocks', () => {
    const { bytes } = syntheticGguf(tiny, 'q8_0');
    // token_embd is [vocab, 64]: make its row 48 elements (dims are stored innermost first).
    new DataView(bytes.buffer).setBigUint64(findBytes(bytes, 'token_embd.weight') + 'token_embd.weight'.length + 4, 48n, true);
    expectFormatError(() => parseGguf(bytes, none), 'size-mismatch');
  });
  it('more than 4 dimensions', () => {
    const { bytes } = syntheticGguf(tiny, 'f32');
    new DataView(bytes.buffer).setUint32(findBytes(bytes, 'token_embd.weight') + 'token_embd.weight'.length, 5, true);
    expectFormatError(() => parseGguf(bytes, none), 'bad-header');
  });
});

describe('synthetic models', () => {
  it('a missing tensor', () => {
    const { tensors } = syntheticGguf(tiny, 'f32');
    expectFormatError(() => parseGguf(writeGguf(llamaMetadata(tiny), tensors.filter((t) => t.name !== 'blk.1.ffn_up.weight')), none), 'missing-tensor');
  });
  it('a shape that disagrees with the metadata', () => {
    const { tensors } = syntheticGguf(tiny, 'f32');
    const meta = llamaMetadata(tiny).map((e): GgufMetadataEntry => (e[0] === 'llama.feed_forward_length' ? [e[0], 128] : e));
    expectFormatError(() => parseGguf(writeGguf(meta, tensors), none), 'size-mismatch');
  });
  it('missing required metadata', () => {
    const { tensors } = syntheticGguf(tiny, 'f32');
    expectFormatError(() => parseGguf(writeGguf(llamaMetadata(tiny).filter(([k]) => k !== 'llama.block_count'), tensors), none), 'bad-config');
  });
  it('an unsupported architecture is named', () => {
    const f = () => parseGguf(writeGguf([['general.architecture', 'falcon']], []), none);
    expect(f).toThrow(UnsupportedModelError);
    expect(f).toThrow(/falcon/);
  });
  it('biases are unsupported', () => {
    const bias = { name: 'blk.0.attn_q.bias', dtype: 'f32' as const, shape: [tiny.dim], data: new Uint8Array(tiny.dim * 4) };
    expect(() => parseGguf(syntheticGguf(tiny, 'f32', { extra: [bias] }).bytes, none)).toThrow(UnsupportedModelError);
  });
  it('partial RoPE is unsupported', () => {
    const meta = [...llamaMetadata(tiny).filter(([k]) => k !== 'llama.rope.dimension_count'), ['llama.rope.dimension_count', 8]] as GgufMetadataEntry[];
    expect(() => parseGguf(syntheticGguf(tiny, 'f32', { metadata: meta }).bytes, none)).toThrow(/partial RoPE/);
  });
  it('mistral: sliding window; an untied output', () => {
    const meta = [...llamaMetadata(tiny, 'mistral'), ['mistral.attention.sliding_window', 4096]] as GgufMetadataEntry[];
    const m = parseGguf(syntheticGguf(tiny, 'f16', { metadata: meta }).bytes, none);
    expect(m.config).toMatchObject({ architecture: 'mistral', slidingWindow: 4096, tieWordEmbeddings: false, rmsNormEps: 1e-5 });
    expect(m.tensors.get(tensorNames.lmHead)).not.toBe(m.tensors.get(tensorNames.embed));
  });
  it('the tokenizer given is passed through', () => {
    const tok: TokenizerSource = { kind: 'hf', tokenizerJson: {}, tokenizerConfig: null };
    expect(parseGguf(syntheticGguf(tiny, 'f32').bytes, tok).tokenizer).toBe(tok);
  });

  describe('Llama-3 rope scaling, stored as rope_freqs.weight', () => {
    const headDim = tiny.dim / tiny.heads;
    const llama3 = { type: 'llama3' as const, factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 };
    const withFreqs = (divisors: Float32Array, theta = 500000) => {
      const meta = [...llamaMetadata(tiny).filter(([k]) => k !== 'llama.rope.freq_base'), ['llama.rope.freq_base', theta, 'f32']] as GgufMetadataEntry[];
      const extra = [{ name: 'rope_freqs.weight', dtype: 'f32' as const, shape: [headDim / 2], data: f32Bytes(divisors) }];
      return syntheticGguf(tiny, 'f32', { metadata: meta, extra }).bytes;
    };
    it('divisors written by llama.cpp for Llama 3.2 are recognised', () => {
      const divisors = llama3RopeDivisors(llama3, 500000, headDim);
      expect(new Set(divisors).size).toBeGreaterThan(2); // the test covers all three bands
      expect(parseGguf(withFreqs(divisors), none).config.rope).toEqual({ theta: 500000, layout: 'half', scaling: llama3 });
    });
    it('all-ones divisors mean no scaling; other divisors are unsupported', () => {
      expect(parseGguf(withFreqs(new Float32Array(headDim / 2).fill(1)), none).config.rope.scaling).toBeNull();
      expect(() => parseGguf(withFreqs(Float32Array.from({ length: headDim / 2 }, (_, i) => 1 + i)), none)).toThrow(UnsupportedModelError);
    });
    it('a rope scaling type in the metadata is unsupported', () => {
      const meta = [...llamaMetadata(tiny), ['llama.rope.scaling.type', 'yarn']] as GgufMetadataEntry[];
      expect(() => parseGguf(syntheticGguf(tiny, 'f32', { metadata: meta }).bytes, none)).toThrow(/yarn/);
    });
  });
});
