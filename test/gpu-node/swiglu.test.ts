import { describe, expect, it } from 'vitest';
import { getTestDevice } from '../helpers/gpu';
import { swigluCheck } from '../cases/elementwise';

// Per-element bound from WGSL's exp accuracy (see swigluCheck).
const ok = (r: { ok: boolean }) => expect(r.ok, JSON.stringify(r)).toBe(true);

describe('swiglu vs CPU', () => {
  it.each([1, 7, 64, 129, 576])('in place, width %i, T = 1, 3, 17', async (width) => ok(await swigluCheck(await getTestDevice(), { width, steps: [1, 3, 17] })));
  it.each([7, 1536])('into out (gate untouched), width %i, T = 3, 1', async (width) => ok(await swigluCheck(await getTestDevice(), { width, steps: [3, 1], toOut: true })));
});
