/** Seeded inputs and comparisons shared by the Node and browser GPU tests. */
import { xorshift as rng } from '../../src/util/xorshift';

export { rng };

export function randomFloats(n: number, seed: number, scale = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (r() * 2 - 1) * scale;
  return out;
}

export interface Comparison {
  maxAbs: number;
  maxRel: number;
  worstIndex: number;
  /** True when every |a - e| <= atol + rtol * |e|. */
  ok: boolean;
}

export function compare(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol = 0): Comparison {
  let maxAbs = 0;
  let maxRel = 0;
  let worstIndex = -1;
  let ok = actual.length === expected.length;
  let worstExcess = -Infinity;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    const excess = d - (atol + rtol * Math.abs(expected[i]));
    if (!(excess <= 0)) ok = false;
    if (excess > worstExcess || Number.isNaN(d)) {
      worstExcess = excess;
      worstIndex = i;
    }
    maxAbs = Math.max(maxAbs, d);
    if (expected[i] !== 0) maxRel = Math.max(maxRel, d / Math.abs(expected[i]));
  }
  return { maxAbs, maxRel, worstIndex, ok };
}
