/**
 * matvec_f32 in Chromium (SwiftShader) vs the CPU reference, computed in the page. Small shapes:
 * SwiftShader is slow. Tolerance as in test/gpu-node/matvec_f32.test.ts: atol 1e-5 * sqrt(cols).
 */
import { describe, expect, it } from 'vitest';
import { useBrowserPage } from '../helpers/browser';
import { expectClose } from '../helpers/gpu';
import type { MatvecF32Case, MatvecF32Result } from './page/cases/matvec_f32';

const CASES = '/test/browser/page/cases/matvec_f32.ts';
const browser = useBrowserPage();
const tol = (cols: number) => ({ atol: 1e-5 * Math.sqrt(cols), rtol: 1e-5 });
const run = (c: MatvecF32Case) => browser.run<MatvecF32Result>(CASES, 'matvecF32Case', c);

describe('matvec_f32 in Chromium (SwiftShader) vs CPU reference', () => {
  it('runs on a real WebGPU adapter (software, no shader-f16)', async () => {
    const info = await browser.adapterInfo();
    expect(info.isFallback).toBe(true);
    expect(info.hasF16).toBe(false);
  });

  const shapes = [
    ...[1, 7, 65].flatMap((rows) => [1, 3, 5, 64, 129].map((cols) => ({ rows, cols }))),
    { rows: 1000, cols: 513 },
    { rows: 4097, cols: 64 },
  ];
  it.each(shapes)('rows $rows x cols $cols', async (c) => {
    const r = await run(c);
    expect(r.entryPoint).toBe(c.cols % 4 === 0 ? 'matvec_vec4' : 'matvec_scalar');
    expectClose(r.gpu, r.cpu, tol(c.cols));
  });

  it('2-D dispatch (forced limit of 6 workgroups per dimension)', async () => {
    const r = await run({ rows: 1000, cols: 5, maxWorkgroupsPerDimension: 6 });
    expect(r.dispatch).toEqual([6, 3]);
    expectClose(r.gpu, r.cpu, tol(5));
  });
});
