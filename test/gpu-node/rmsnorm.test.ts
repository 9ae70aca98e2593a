import { describe, expect, it } from 'vitest';
import { getTestDevice } from '../helpers/gpu';
import { rmsnormCheck } from '../cases/elementwise';

// Per-element bound derived from the f32 operations (see rmsnormCheck); one bind per case, several
// steps with different T on it.
const ok = (r: { ok: boolean }) => expect(r.ok, JSON.stringify(r)).toBe(true);

describe.each(['simple', 'tiled'] as const)('rmsnorm %s vs CPU', (variant) => {
  it.each([1, 7, 64, 129, 576])('width %i, T = 1, 3, 17', async (width) => ok(await rmsnormCheck(await getTestDevice(), { variant, width, steps: [1, 3, 17] })));
  it('width 2048, T = 17 then 1 (long rows)', async () => ok(await rmsnormCheck(await getTestDevice(), { variant, width: 2048, steps: [17, 1] })));
  it('last row only (final norm before the LM head), T = 17, 1, 3', async () => ok(await rmsnormCheck(await getTestDevice(), { variant, width: 129, steps: [17, 1, 3], lastOnly: true })));
});
