/** parse(write(x)) is faithful: metadata of every value type, every tensor type, q/k permuted as llama.cpp does. */
import { describe, expect, it } from 'vitest';
import { dequantize } from '../../src/model/dtypes';
import { parseGguf, parseGgufHeader, unpermuteRows } from '../../src/model/gguf';
import { permuteRows, writeGguf, type GgufMetadataEntry } from '../../src/model/gguf-writer';
import { tensorNames, type DType } from '../../src/model/types';
import { encode, llamaMetadata, syntheticGguf, tiny } from '../fixtures/model-builders';

describe('metadata', () => {
  it('every value type reads back as written', () => {
    const entries: GgufMetadataEntry[] = [
      ['u8', 200, 'u8'], ['i8', -100, 'i8'], ['u16', 60000, 'u16'], ['i16', -30000, 'i16'],
      ['u32', 4_000_000_000], ['i32', -5], ['f32', 0.5], ['f32.integral', 10000, 'f32'], ['bool', true], ['string', 'héllo ▁'],
      ['u64', 2n ** 40n], ['i64', -(2n ** 40n)], ['f64', 1e-300, 'f64'],
      ['array.str', ['a', 'bb', '']], ['array.f32', [0.25, -1.5], 'f32'], ['array.nested', [[1, 2], [3]]], ['array.empty', []],
    ];
    const md = parseGgufHeader(writeGguf(entries, [])).metadata;
    expect(Object.fromEntries(md)).toEqual(Object.fromEntries(entries.map(([k, v]) => [k, v])));
  });
});

describe('tensors', () => {
  it.each<DType>(['f32', 'f16', 'bf16', 'q8_0', 'q4_0'])('a %s model: every tensor reads back to the bytes written, q/k un-permuted', (dtype) => {
    const { bytes, values, tensors } = syntheticGguf(tiny, dtype);
    const m = parseGguf(bytes, { kind: 'none' });
    expect(m.config).toMatchObject({ hiddenSize: tiny.dim, numHeads: tiny.heads, numKvHeads: tiny.kvHeads, intermediateSize: tiny.ff, vocabSize: tiny.vocab, numLayers: tiny.layers });
    for (let l = 0; l < tiny.layers; l++) {
      const n = tensorNames.layer(l);
      // q/k come back in HF row order: the bytes our quantizer writes for the HF-order values.
      expect(m.tensors.get(n.q)!.data).toEqual(encode(dtype, values.get(`blk.${l}.attn_q.weight`)!));
      expect(m.tensors.get(n.k)!.data).toEqual(encode(dtype, values.get(`blk.${l}.attn_k.weight`)!));
      expect(m.tensors.get(n.v)!.data).toEqual(tensors.find((t) => t.name === `blk.${l}.attn_v.weight`)!.data);
      expect(m.tensors.get(n.attnNorm)!.dtype).toBe('f32');
      expect(m.tensors.get(n.q)!.dtype).toBe(dtype);
    }
    expect(m.tensors.get(tensorNames.lmHead)!.data).toEqual(tensors.find((t) => t.name === 'output.weight')!.data);
  });

  it('F16 and BF16 decode close to the values written', () => {
    for (const [dtype, tol] of [['f16', 2 ** -11], ['bf16', 2 ** -8]] as const) {
      const { bytes, values } = syntheticGguf(tiny, dtype);
      const got = dequantize(parseGguf(bytes, { kind: 'none' }).tensors.get(tensorNames.layer(1).q)!);
      const want = values.get('blk.1.attn_q.weight')!;
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(tol);
    }
  });

  it('a custom general.alignment places every tensor on it', () => {
    const { bytes } = syntheticGguf(tiny, 'q4_0', { metadata: [...llamaMetadata(tiny), ['general.alignment', 256]] });
    const g = parseGgufHeader(bytes);
    expect(g.dataOffset % 256).toBe(0);
    for (const t of g.tensorInfos) expect(t.offset % 256).toBe(0);
    expect(parseGguf(bytes, { kind: 'none' }).tensors.size).toBeGreaterThan(0);
  });

  it('the writer refuses data that does not fit the shape', () => {
    expect(() => writeGguf([], [{ name: 'x', dtype: 'f32', shape: [4], data: new Uint8Array(12) }])).toThrow(RangeError);
  });
});

describe('q/k row permutation', () => {
  it("matches llama.cpp's reshape(heads, 2, d/2, in).swapaxes(1, 2) on row indices, and unpermuteRows inverts it", () => {
    const rows = 12;
    const heads = 2;
    const ids = Uint8Array.from({ length: rows }, (_, i) => i); // one byte per row: the row's HF index
    // llama.cpp: GGUF row h*d + 2i + s holds HF row h*d + s*d/2 + i (d = 6 here).
    expect([...permuteRows(ids, rows, heads)]).toEqual([0, 3, 1, 4, 2, 5, 6, 9, 7, 10, 8, 11]);
    const back = unpermuteRows({ name: 'q', dtype: 'f32', shape: [rows, 1], data: permuteRows(ids, rows, heads) }, heads);
    expect([...back.data]).toEqual([...ids]);
  });
});
