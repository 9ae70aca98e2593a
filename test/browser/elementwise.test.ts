import { describe, expect, it } from 'vitest';
import { useBrowserPage } from '../helpers/browser';
import type { BoundCheck, RopeCheck } from '../cases/elementwise';

// Chromium + SwiftShader: small shapes (barriers and dispatches are slow there); the same bounds
// as the Node tests (test/cases/elementwise.ts).
const browser = useBrowserPage();

const M = '/test/cases/elementwise.ts';
const ok = (r: { ok: boolean }) => expect(r.ok, JSON.stringify(r)).toBe(true);

describe('elementwise kernels in Chromium vs CPU', () => {
  it.each(['simple', 'tiled'])('rmsnorm %s, widths 7 and 129, T = 1, 3, 17', async (variant) => {
    ok(await browser.run<BoundCheck>(M, 'rmsnormCheck', { variant, width: 7, steps: [1, 3, 17] }));
    ok(await browser.run<BoundCheck>(M, 'rmsnormCheck', { variant, width: 129, steps: [3, 1], lastOnly: variant === 'tiled' }));
  });
  it('rope, both layouts, llama3 scaling, positions up to 4096', async () => {
    for (const c of [
      { heads: 4, kvHeads: 2, headDim: 16, layout: 'half', steps: [[0, 17], [17, 1]] },
      { heads: 2, kvHeads: 1, headDim: 64, layout: 'interleaved', llama3: true, steps: [[4075, 17], [4092, 3]] },
      { heads: 2, kvHeads: 2, headDim: 128, layout: 'half', llama3: true, steps: [[131060, 3]] },
    ]) {
      const r = await browser.run<RopeCheck>(M, 'ropeCheck', c);
      console.info(`rope in Chromium ${c.layout} hd ${c.headDim}: ${r.measured.toFixed(2)}u (|x0| + |x1|), ${r.maxAbs.toExponential(2)} abs`);
      ok(r);
    }
  });
  it('swiglu in place and into out', async () => {
    ok(await browser.run<BoundCheck>(M, 'swigluCheck', { width: 97, steps: [3, 1] }));
    ok(await browser.run<BoundCheck>(M, 'swigluCheck', { width: 64, steps: [1, 17], toOut: true }));
  });
});
