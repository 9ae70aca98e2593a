import { describe, expect, it } from 'vitest';
import { f16round } from '../../src/kv/dtype';
import { CpuKvCache } from '../../src/cpu/kv-cache';
import { CpuBackend } from '../../src/cpu/backend';
import { loadModel } from '../../src/model/load';
import { golden, stories260K, tinystories656k } from '../helpers/models';

describe('f16round: float32 to the nearest half, ties to even (the f16 KV cache)', () => {
  it('keeps halves, rounds to 11 significant bits', () => {
    for (const x of [0, 1, -2, 0.5, 65504, -65504, 2 ** -14, 2 ** -24, 1 + 2 ** -10]) expect(f16round(x)).toBe(x);
    expect(Object.is(f16round(-0), -0)).toBe(true);
    expect(f16round(1 + 2 ** -12)).toBe(1);
    expect(f16round(1 + 3 * 2 ** -12)).toBe(1 + 2 ** -10);
    expect(f16round(Math.PI)).toBe(3.140625);
    expect(f16round(-0.1)).toBe(-0.0999755859375);
  });

  it('breaks ties to the even significand, carrying into the exponent', () => {
    expect(f16round(1 + 2 ** -11)).toBe(1);
    expect(f16round(1 + 3 * 2 ** -11)).toBe(1 + 2 ** -9);
    expect(f16round(2 - 2 ** -12)).toBe(2);
  });

  it('overflows past 65520 and rounds subnormals to multiples of 2^-24', () => {
    expect(f16round(65519)).toBe(65504);
    expect(f16round(65520)).toBe(Infinity);
    expect(f16round(-1e6)).toBe(-Infinity);
    expect(f16round(2 ** -25)).toBe(0);
    expect(f16round(3 * 2 ** -25)).toBe(2 ** -23);
    expect(f16round(1.4 * 2 ** -24)).toBe(2 ** -24);
    expect(Number.isNaN(f16round(NaN))).toBe(true);
  });

  it('agrees with Float16Array where the runtime has one', () => {
    const F16 = (globalThis as { Float16Array?: new (n: number) => { [i: number]: number } }).Float16Array;
    if (!F16) return;
    const a = new F16(1);
    for (let i = 0; i < 2000; i++) {
      const x = Math.fround((Math.random() - 0.5) * 2 ** ((i % 40) - 20));
      a[0] = x;
      expect(f16round(x)).toBe(a[0]);
    }
  });
});

describe('an f16 CPU cache', () => {
  it('stores keys and values rounded to halves; f32 stores them as given', () => {
    const key = Float32Array.from([0.1, 1 / 3, -7.123]);
    for (const dtype of ['f16', 'f32'] as const) {
      const cache = new CpuKvCache(1, 1, 3, dtype);
      const slot = cache.heads[0][0].append(key, key, 0);
      const stored = Array.from(cache.heads[0][0].keys.subarray(slot * 3, slot * 3 + 3));
      expect(stored).toEqual(Array.from(key, (x) => (dtype === 'f16' ? f16round(x) : x)));
      expect(cache.bytesAllocated()).toBe(16 * 3 * 2 * (dtype === 'f16' ? 2 : 4));
    }
  });
});

describe('f16 against f32 on the CPU reference', () => {
  it.each([
    ['stories260K', stories260K.bin, golden.stories260K.greedy_ids],
    ['TinyStories-656K', tinystories656k.dir, golden['tinystories-656k'].greedy_ids],
  ] as const)('%s: mean |dNLL| per token below 0.01', async (_, path, ids) => {
    const model = await loadModel(path);
    const [f32, f16] = await Promise.all((['f32', 'f16'] as const).map((kvDtype) => new CpuBackend(model, { kvDtype }).nll(ids)));
    const mean = f32.reduce((s, x, i) => s + Math.abs(x - f16[i]), 0) / f32.length;
    expect(mean).toBeLessThan(0.01);
    expect(mean).toBeGreaterThan(0);
  });
});
