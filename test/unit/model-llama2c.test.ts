/** llama2.c .bin: the legacy header, float32 weights as views in file order, corrupt files typed. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { UnsupportedModelError } from '../../src/errors';
import { dequantize } from '../../src/model/dtypes';
import { parseLlama2c } from '../../src/model/llama2c';
import { tensorNames, type TokenizerSource } from '../../src/model/types';
import { expectFormatError } from '../fixtures/model-builders';
import { stories260K } from '../helpers/models';

const none: TokenizerSource = { kind: 'none' };
const real = new Uint8Array(readFileSync(stories260K.bin));

/** A tiny checkpoint whose every float is its own index in the file, so tensors can be located. */
function numbered(h: { dim: number; hidden: number; layers: number; heads: number; kvHeads: number; vocab: number; seqLen: number }) {
  const headDim = h.dim / h.heads;
  const kv = h.kvHeads * headDim;
  const v = Math.abs(h.vocab);
  const L = h.layers;
  const floats =
    v * h.dim + L * (h.dim + 2 * h.dim * h.dim + 2 * kv * h.dim + h.dim + 3 * h.hidden * h.dim) + h.dim + h.seqLen * headDim + (h.vocab < 0 ? v * h.dim : 0);
  const file = new Uint8Array(28 + floats * 4);
  const dv = new DataView(file.buffer);
  [h.dim, h.hidden, L, h.heads, h.kvHeads, h.vocab, h.seqLen].forEach((x, i) => dv.setInt32(i * 4, x, true));
  for (let i = 0; i < floats; i++) dv.setFloat32(28 + i * 4, i, true);
  return file;
}
const first = (file: Uint8Array, name: string) => dequantize(parseLlama2c(file, none).tensors.get(name)!)[0];

describe('the shared stories260K', () => {
  it('config from the header, llama2.c conventions', () => {
    expect(parseLlama2c(real, none).config).toEqual({
      architecture: 'llama', hiddenSize: 64, intermediateSize: 172, numLayers: 5, numHeads: 8, numKvHeads: 4, headDim: 8, vocabSize: 512,
      maxPositionEmbeddings: 512, rmsNormEps: 1e-5, rope: { theta: 10000, layout: 'interleaved', scaling: null }, slidingWindow: null,
      tieWordEmbeddings: true, bosTokenId: 1, eosTokenIds: [2],
    });
  });
  it('tensors are views into the one file buffer; the classifier is the embedding', () => {
    const m = parseLlama2c(real, none);
    expect(m.tensors.size).toBe(2 + 5 * 9 + 1);
    for (const t of m.tensors.values()) expect(t.data.buffer).toBe(real.buffer);
    expect(m.tensors.get(tensorNames.lmHead)).toBe(m.tensors.get(tensorNames.embed));
    expect(m.tensors.get(tensorNames.layer(4).k)!.shape).toEqual([32, 64]);
    expect(m.tensors.get(tensorNames.layer(4).down)!.shape).toEqual([64, 172]);
  });
  it('a llama2.c tokenizer gets the vocab size from the header', () => {
    const m = parseLlama2c(real, { kind: 'llama2c', bytes: new Uint8Array(4), vocabSize: 0 });
    expect(m.tokenizer).toMatchObject({ kind: 'llama2c', vocabSize: 512 });
  });
});

describe('file order', () => {
  const h = { dim: 8, hidden: 12, layers: 2, heads: 2, kvHeads: 1, vocab: 5, seqLen: 3 };
  const file = numbered(h);
  it('each tensor starts where llama2.c puts it; w1 = gate, w2 = down, w3 = up', () => {
    const L = 2, D = 8, KV = 4, H = 12, V = 5;
    let at = V * D;
    const expectAt = (name: string, perLayer: number, l = 0) => expect(first(file, name), name).toBe(at + l * perLayer);
    for (const [key, size] of [['attnNorm', D], ['q', D * D], ['k', KV * D], ['v', KV * D], ['o', D * D], ['mlpNorm', D], ['gate', H * D], ['down', D * H], ['up', H * D]] as const) {
      expectAt(tensorNames.layer(0)[key], size);
      expectAt(tensorNames.layer(1)[key], size, 1);
      at += L * size;
    }
    expect(first(file, tensorNames.finalNorm)).toBe(at);
    expect(first(file, tensorNames.embed)).toBe(0);
  });
  it('a negative vocab size: an unshared classifier follows the two RoPE tables', () => {
    const m = parseLlama2c(numbered({ ...h, vocab: -5 }), none);
    expect(m.config).toMatchObject({ vocabSize: 5, tieWordEmbeddings: false });
    const norm = dequantize(m.tensors.get(tensorNames.finalNorm)!)[0];
    expect(dequantize(m.tensors.get(tensorNames.lmHead)!)[0]).toBe(norm + h.dim + h.seqLen * (h.dim / h.heads));
  });
});

describe('corrupt files', () => {
  it.each([0, 27])('%i bytes: truncated header', (n) => expectFormatError(() => parseLlama2c(real.subarray(0, n), none), 'truncated'));
  it.each([28, 1000, real.length / 2, real.length - 4])('cut at %i bytes: truncated, naming expected vs actual', (n) => {
    expectFormatError(() => parseLlama2c(real.subarray(0, n), none), 'truncated');
    expect(() => parseLlama2c(real.subarray(0, n), none)).toThrow(new RegExp(`expected ${real.length} bytes.*has ${n}`));
  });
  it.each([
    ['dim 0', 0, 0],
    ['negative layers', 2, -1],
    ['dim not a multiple of heads', 3, 7],
    ['heads not a multiple of kv heads', 4, 3],
    ['seq_len 0', 6, 0],
  ])('%s: bad-header', (_, field, value) => {
    const f = real.slice();
    new DataView(f.buffer).setInt32(field * 4, value, true);
    expectFormatError(() => parseLlama2c(f, none), 'bad-header');
  });
  it('a versioned export ("ak42") is unsupported', () => {
    const f = real.slice();
    f.set(new TextEncoder().encode('ak42'));
    expect(() => parseLlama2c(f, none)).toThrow(UnsupportedModelError);
  });
});
