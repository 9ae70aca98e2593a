/** Storage types decode bit-exactly, and our quantizers write llama.cpp's block layouts. */
import { describe, expect, it } from 'vitest';
import { dequantize, tensorByteSize } from '../../src/model/dtypes';
import { bf16BitsToF32, f16BitsToF32, f32ToF16Bits } from '../../src/model/half-float';
import { quantize } from '../../src/model/quantize';
import type { DType, Tensor } from '../../src/model/types';
import { randomFloats } from '../cases/random';

const tensor = (dtype: DType, shape: number[], data: Uint8Array): Tensor => ({ name: 't', dtype, shape, data });

describe('tensorByteSize', () => {
  it('counts elements times the element size, and 34/18 bytes per 32-element block', () => {
    expect(tensorByteSize('f32', [3, 5])).toBe(60);
    expect(tensorByteSize('f16', [3, 5])).toBe(30);
    expect(tensorByteSize('bf16', [7])).toBe(14);
    expect(tensorByteSize('q8_0', [2, 64])).toBe(4 * 34);
    expect(tensorByteSize('q4_0', [2, 64])).toBe(4 * 18);
    expect(tensorByteSize('f32', [])).toBe(4);
  });
  it('rejects quantized tensors that are not whole blocks', () => expect(() => tensorByteSize('q8_0', [33])).toThrow(RangeError));
});

describe('f16', () => {
  it('decodes known bit patterns, subnormals and specials', () => {
    expect(f16BitsToF32(0x3c00)).toBe(1);
    expect(f16BitsToF32(0xc000)).toBe(-2);
    expect(f16BitsToF32(0x7bff)).toBe(65504);
    expect(f16BitsToF32(0x0001)).toBe(2 ** -24);
    expect(f16BitsToF32(0x7c00)).toBe(Infinity);
    expect(f16BitsToF32(0xfc00)).toBe(-Infinity);
    expect(f16BitsToF32(0x7e00)).toBeNaN();
    expect(Object.is(f16BitsToF32(0x8000), -0)).toBe(true);
  });
  it('every non-NaN half round-trips through float32', () => {
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00 && h & 0x3ff) continue;
      expect(f32ToF16Bits(f16BitsToF32(h))).toBe(h);
    }
  });
  it('rounds to nearest, ties to even, and saturates to infinity', () => {
    const ulp1 = 2 ** -10; // spacing of halves in [1, 2)
    expect(f32ToF16Bits(1 + ulp1 / 2)).toBe(0x3c00); // tie, even stays
    expect(f32ToF16Bits(1 + 1.5 * ulp1)).toBe(0x3c02); // tie, odd rounds up
    expect(f32ToF16Bits(1 + ulp1 * 0.51)).toBe(0x3c01);
    expect(f32ToF16Bits(65520)).toBe(0x7c00);
    expect(f32ToF16Bits(2 ** -25)).toBe(0); // tie between 0 and the smallest subnormal: even
    expect(f32ToF16Bits(1.5 * 2 ** -24)).toBe(2);
    expect(f32ToF16Bits(NaN) & 0x7e00).toBe(0x7e00);
  });
});

describe('dequantize', () => {
  it('f32 from an unaligned view, f16 and bf16', () => {
    const x = Float32Array.of(1.5, -2.25, 1e-3);
    const unaligned = new Uint8Array(13);
    unaligned.set(new Uint8Array(x.buffer), 1);
    expect(dequantize(tensor('f32', [3], unaligned.subarray(1)))).toEqual(x);
    expect(dequantize(tensor('f16', [2], new Uint8Array(Uint16Array.of(0x3c00, 0xc100).buffer)))).toEqual(Float32Array.of(1, -2.5));
    expect(bf16BitsToF32(0x3f80)).toBe(1);
    expect(dequantize(tensor('bf16', [2], new Uint8Array(Uint16Array.of(0x3f80, 0xc0a0).buffer)))).toEqual(Float32Array.of(1, -5));
  });

  it('q8_0: an f16 scale then 32 int8, value = q * d', () => {
    const block = new Uint8Array(34);
    const dv = new DataView(block.buffer);
    dv.setUint16(0, f32ToF16Bits(0.5), true);
    for (let j = 0; j < 32; j++) dv.setInt8(2 + j, j - 16);
    expect(dequantize(tensor('q8_0', [32], block))).toEqual(Float32Array.from({ length: 32 }, (_, j) => (j - 16) * 0.5));
  });

  it('q4_0: element j < 16 is the low nibble of byte j, element j >= 16 the high nibble of byte j - 16', () => {
    const block = new Uint8Array(18);
    new DataView(block.buffer).setUint16(0, f32ToF16Bits(2), true);
    for (let j = 0; j < 16; j++) block[2 + j] = j | ((15 - j) << 4);
    const want = Float32Array.from({ length: 32 }, (_, j) => 2 * ((j < 16 ? j : 15 - (j - 16)) - 8));
    expect(dequantize(tensor('q4_0', [32], block))).toEqual(want);
  });
});

describe('quantizers', () => {
  const x = randomFloats(32 * 64, 7, 3);
  // The block scale is stored as f16 (relative error <= 2^-11), which moves q * d by up to 127 * d * 2^-11.
  it('Q8_0 is within half a step of each block (step = amax / 127), plus the f16 scale rounding', () => {
    const y = dequantize(tensor('q8_0', [x.length], quantize('q8_0', x)));
    for (let b = 0; b < x.length / 32; b++) {
      const amax = Math.max(...x.subarray(b * 32, b * 32 + 32).map(Math.abs));
      for (let j = b * 32; j < b * 32 + 32; j++) expect(Math.abs(y[j] - x[j])).toBeLessThanOrEqual((amax / 127) * (0.5 + 127 * 2 ** -11));
    }
  });
  it('Q8_0 rounds halves away from zero, as C roundf', () => {
    const v = new Float32Array(32);
    v[0] = 127;
    v[1] = -2.5;
    v[2] = 2.5;
    const q = new Int8Array(quantize('q8_0', v).buffer, 2, 32);
    expect([q[0], q[1], q[2]]).toEqual([127, -3, 3]);
  });
  it('Q4_0 is within one step (the side opposite the largest magnitude clamps at +7)', () => {
    const y = dequantize(tensor('q4_0', [x.length], quantize('q4_0', x)));
    for (let b = 0; b < x.length / 32; b++) {
      const amax = Math.max(...x.subarray(b * 32, b * 32 + 32).map(Math.abs));
      for (let j = b * 32; j < b * 32 + 32; j++) expect(Math.abs(y[j] - x[j])).toBeLessThanOrEqual((amax / 8) * (1 + 8 * 2 ** -11));
    }
  });
  it('an all-zero block quantizes to zeros', () => {
    const z = new Float32Array(32);
    // (Q4_0's scale is -0 here, as in llama.cpp: max / -8.)
    expect([...dequantize(tensor('q8_0', [32], quantize('q8_0', z)))].every((v) => v === 0)).toBe(true);
    expect([...dequantize(tensor('q4_0', [32], quantize('q4_0', z)))].every((v) => v === 0)).toBe(true);
  });
  it('refuses lengths that are not whole blocks', () => {
    expect(() => quantize('q8_0', new Float32Array(31))).toThrow(RangeError);
    expect(() => quantize('q4_0', new Float32Array(33))).toThrow(RangeError);
  });
});
