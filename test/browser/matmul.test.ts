import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBrowser, runCase, type BrowserSession } from '../helpers/browser';
import type { MatmulCase } from '../cases/matmul';

let s: BrowserSession;
beforeAll(async () => {
  s = await openBrowser();
});
afterAll(() => s?.close());

describe('matmul in Chromium (SwiftShader) vs CPU reference', () => {
  it('runs on a real WebGPU adapter', async () => {
    const info = await s.page.evaluate(() => window.adapterInfo());
    expect(info).toMatchObject({ isFallback: true });
  });

  const cases: MatmulCase[] = (['f32', 'f16', 'bf16', 'q8_0', 'q4_0'] as const).flatMap((dtype) =>
    (['simple', 'tiled'] as const).map((variant) => ({ dtype, variant, rows: 33, cols: dtype.startsWith('q') ? 64 : 37, tokens: 5 })),
  );
  it.each(cases)('%o', async (c) => {
    const r = await runCase<{ ok: boolean }>(s.page, '/test/cases/matmul.ts', 'matmulCase', c);
    expect(r.ok, JSON.stringify(r)).toBe(true);
  });
});
