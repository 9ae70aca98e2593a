/**
 * The block formats against ggml's reference: test/fixtures/ggml-quants-reference.json holds the
 * bytes ggml-quants.c's quantize_row_*_ref writes for three inputs (structured values with an
 * all-positive second super-block, and two seeded random sets: xorshift32 as test/cases/random.ts,
 * scales 1 and 0.02), and the floats its dequantize_row_* decodes from them (set 1), all computed by
 * compiling ggml's C with float32 arithmetic and no FMA contraction.
 */
import { describe, expect, it } from 'vitest';
import { dequantize, tensorByteSize } from '../../src/model/dtypes';
import { quantize } from '../../src/model/quantize';
import { BLOCKS, type BlockDType } from '../../src/model/block-formats';
import reference from '../fixtures/ggml-quants-reference.json';
import { randomFloats } from '../cases/random';

const N = 512;
const structured = new Float32Array(N);
for (let i = 0; i < 256; i++) structured[i] = ((((i * 37 + 11) % 101) - 50) * (1 + ((i >> 5) % 3))) / 64;
for (let i = 256; i < N; i++) structured[i] = (((i * 13) % 29) + 1) / 8;
const sets = [structured, randomFloats(N, 5, 1), randomFloats(N, 9, 0.02)];
const ref = reference as Record<string, Record<string, string>>;
const hex = (b: Uint8Array) => Array.from(b, (v) => v.toString(16).padStart(2, '0')).join('');
const fromHex = (h: string) => Uint8Array.from(h.match(/../g)!, (p) => parseInt(p, 16));
const FORMATS = Object.keys(BLOCKS) as BlockDType[];
const NEW: BlockDType[] = ['q4_1', 'q5_0', 'q5_1', 'q4_k', 'q5_k', 'q6_k'];

describe('quantize: the bytes of ggml reference quantizers', () => {
  for (const [k, x] of sets.entries())
    it.each(FORMATS)(`set ${k}: %s`, (dtype) => expect(hex(quantize(dtype, x))).toBe(ref[`set${k}`][dtype]));
});

describe('dequantize: the floats of ggml dequantize_row_*', () => {
  it.each(NEW)('%s', (dtype) => {
    const data = fromHex(ref.set1[dtype]);
    const want = new Float32Array(fromHex(ref.set1[`dequantized ${dtype}`]).buffer);
    expect(dequantize({ name: 't', dtype, shape: [2, 256], data })).toEqual(want);
  });
});

describe('block formats', () => {
  it('sizes: 32-element blocks of 20/22/24 bytes, 256-element super-blocks of 144/176/210', () => {
    expect(tensorByteSize('q4_1', [3, 64])).toBe(6 * 20);
    expect(tensorByteSize('q5_0', [3, 64])).toBe(6 * 22);
    expect(tensorByteSize('q5_1', [3, 64])).toBe(6 * 24);
    expect(tensorByteSize('q4_k', [2, 512])).toBe(4 * 144);
    expect(tensorByteSize('q5_k', [2, 512])).toBe(4 * 176);
    expect(tensorByteSize('q6_k', [2, 512])).toBe(4 * 210);
    expect(() => tensorByteSize('q4_k', [2, 96])).toThrow(RangeError);
    expect(() => quantize('q6_k', new Float32Array(128))).toThrow(RangeError);
  });
  // Each step is the sub-block's range over its levels (plus the 6-bit and f16 rounding of scales).
  it.each<[BlockDType, number]>([
    ['q4_1', 15], ['q5_0', 16], ['q5_1', 31], ['q4_k', 15], ['q5_k', 31], ['q6_k', 32],
  ])('%s reconstructs random weights within a fraction of the block range', (dtype, levels) => {
    const x = randomFloats(256 * 16, 21, 2);
    const y = dequantize({ name: 't', dtype, shape: [x.length], data: quantize(dtype, x) });
    const bs = BLOCKS[dtype].elements;
    for (let b = 0; b < x.length / bs; b++) {
      const blk = x.subarray(b * bs, (b + 1) * bs);
      const range = Math.max(...blk) - Math.min(0, Math.min(...blk));
      for (let j = b * bs; j < (b + 1) * bs; j++) expect(Math.abs(y[j] - x[j])).toBeLessThanOrEqual(range / levels);
    }
  });
  it('an all-zero block decodes to zeros in every format', () => {
    for (const dtype of FORMATS) expect([...dequantize({ name: 't', dtype, shape: [256], data: quantize(dtype, new Float32Array(256)) })].every((v) => v === 0)).toBe(true);
  });
});
