import { describe, expect, it } from 'vitest';
import { getTestDevice } from '../helpers/gpu';
import { ropeCheck, type RopeCheckCase } from '../cases/elementwise';

// Bound per element u * (4 (|x0| + |x1|) + 2 |y|), u = 2^-24 (see ropeCheck): the GPU computes the
// CPU's f32 angle bit for bit and cos/sin to 2.2u; measured = max |gpu - cpu| / (|x0| + |x1|) in u.
const prefillDecode = (p: number): [number, number][] => [[p, 17], [p + 17, 1], [p + 18, 3]];

const cases: (RopeCheckCase & { name: string })[] = [
  { name: 'interleaved, hd 8, 4/2 heads, positions 0..20', heads: 4, kvHeads: 2, headDim: 8, layout: 'interleaved', steps: prefillDecode(0) },
  { name: 'half, hd 16, 3/3 heads, positions 0..20', heads: 3, kvHeads: 3, headDim: 16, layout: 'half', steps: prefillDecode(0) },
  { name: 'half, hd 64, 9/3 heads, around 511', heads: 9, kvHeads: 3, headDim: 64, layout: 'half', steps: prefillDecode(500) },
  { name: 'interleaved, hd 128, 4/1 heads, up to 4096', heads: 4, kvHeads: 1, headDim: 128, layout: 'interleaved', steps: [[4075, 17], [4092, 1], [4093, 3]] },
  { name: 'half, hd 128, 8/2 heads, llama3 scaling, up to 4096', heads: 8, kvHeads: 2, headDim: 128, layout: 'half', llama3: true, steps: [[4075, 17], [4092, 1], [4093, 3]] },
  { name: 'interleaved, hd 64, 2/1 heads, llama3 scaling, every position < 4096 (T = 17 steps)', heads: 2, kvHeads: 1, headDim: 64, layout: 'interleaved', llama3: true, steps: Array.from({ length: 241 }, (_, i): [number, number] => [i * 17, 17]) },
  { name: 'half, hd 128, 2/2 heads, positions near 131072 and 1e6', heads: 2, kvHeads: 2, headDim: 128, layout: 'half', llama3: true, steps: [[131060, 17], [999990, 17]] },
];

describe('rope vs CPU', () => {
  it.each(cases)('$name', async (c) => {
    const r = await ropeCheck(await getTestDevice(), c);
    console.info(`rope ${c.name}: max |gpu - cpu| = ${r.measured.toFixed(2)}u (|x0| + |x1|), ${r.maxAbs.toExponential(2)} abs; vs the exact-angle rotation ${r.vsExactAngle.toExponential(2)}`);
    expect(r.ok, JSON.stringify(r)).toBe(true);
  });
});
