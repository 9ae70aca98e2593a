/**
 * matvec_f32 (y = W x, f32) on Dawn + lavapipe vs the float64-accumulated CPU reference.
 *
 * Tolerance: W and x are uniform in [-1, 1], so |w x| <= 1 (variance 1/9); the GPU sums `cols`
 * products in f32 in another order (4 interleaved partial sums) than the float64 reference.
 * Measured worst errors over 1000 rows on lavapipe: 1.9e-6 (cols 129), 6.7e-6 (513), 6.0e-5 (4096).
 * atol = 1e-5 * sqrt(cols) (1.1e-4, 2.3e-4, 6.4e-4) keeps a 10-60x margin for other summation
 * orders and FMA contraction (SwiftShader), while one wrong, dropped or duplicated term moves a row
 * by ~|w x| ~ 0.25 on average, so every indexing bug is caught. rtol 1e-5 covers large-valued rows.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { expectClose, getTestDevice, randomFloats } from '../helpers/gpu';
import { MatvecF32, matvecF32 } from '../../src/gpu/matvec_f32';
import { matvec } from '../../src/cpu/matvec';
import { storageBuffer } from '../../src/gpu/buffers';
import { D2OError } from '../../src/errors';
import { matvecF32Case } from '../browser/page/cases/matvec_f32';

const tol = (cols: number) => ({ atol: 1e-5 * Math.sqrt(cols), rtol: 1e-5 });

const ROWS = [1, 7, 63, 65, 1000, 4097];
const COLS = [1, 3, 5, 64, 129, 513];

describe('matvec_f32 vs CPU reference (Node, Dawn)', () => {
  it.each(ROWS.flatMap((rows) => COLS.map((cols) => ({ rows, cols }))))('rows $rows x cols $cols', async ({ rows, cols }) => {
    const ctx = await getTestDevice();
    const W = randomFloats(rows * cols, rows * 1000 + cols);
    const x = randomFloats(cols, cols + 7);
    const r = await matvecF32(ctx, W, x, rows, cols);
    expect(r.entryPoint).toBe(cols % 4 === 0 ? 'matvec_vec4' : 'matvec_scalar');
    expectClose(r.y, matvec(W, x, rows, cols), tol(cols));
  });

  it('wraps more than maxWorkgroupsPerDimension groups into a 2-D dispatch (forced limit)', async () => {
    const ctx = await getTestDevice();
    for (const cols of [4, 5]) {
      const r = await matvecF32Case(ctx, { rows: 1000, cols, maxWorkgroupsPerDimension: 6 });
      // 16 groups of 64 rows, at most 6 per dimension: 3 rows of 6 (the 2 spare groups exit early).
      expect(r.dispatch).toEqual([6, 3]);
      expectClose(r.gpu, r.cpu, { ...tol(cols), label: `cols ${cols}` });
    }
  });

  it('2-D dispatch at the real limit: more than 65535 * 64 rows', async () => {
    const ctx = await getTestDevice();
    const rows = 65535 * 64 + 100;
    const W = randomFloats(rows, 11);
    const x = new Float32Array([0.5]);
    const r = await matvecF32(ctx, W, x, rows, 1);
    expect(r.dispatch[1]).toBe(2);
    expect(r.dispatch[0] * r.dispatch[1] * 64).toBeGreaterThanOrEqual(rows);
    // One product, w * 0.5: exact in f32.
    expectClose(r.y, matvec(W, x, rows, 1), { atol: 0 });
  });

  it('reuses a bound dispatch inside a caller-owned pass, with larger buffers than needed', async () => {
    const { device } = await getTestDevice();
    const rows = 33;
    const cols = 12;
    const W = randomFloats(rows * cols + 40, 5);
    const x = randomFloats(cols + 3, 6);
    const k = MatvecF32.for(device);
    expect(MatvecF32.for(device)).toBe(k);
    const wb = storageBuffer(device, W);
    const xb = storageBuffer(device, x);
    const yb = storageBuffer(device, new Float32Array(rows + 5).fill(7));
    const bound = k.bind({ W: wb, x: xb, y: yb }, rows, cols);
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    bound.encode(pass);
    bound.encode(pass);
    pass.end();
    device.queue.submit([enc.finish()]);
    const { readF32 } = await import('../../src/gpu/buffers');
    const y = await readF32(device, yb, rows + 5);
    expectClose(y.subarray(0, rows), matvec(W, x, rows, cols), tol(cols));
    expect(Array.from(y.subarray(rows))).toEqual([7, 7, 7, 7, 7]);
    bound.destroy();
    for (const b of [wb, xb, yb]) b.destroy();
  });

  it('rejects buffers smaller than the shape and non-positive shapes with a D2OError', async () => {
    const { device } = await getTestDevice();
    const k = MatvecF32.for(device);
    const small = storageBuffer(device, 16);
    const big = storageBuffer(device, 4096);
    expect(() => k.bind({ W: small, x: big, y: big }, 4, 4)).toThrow(D2OError);
    expect(() => k.bind({ W: big, x: small, y: big }, 1, 8)).toThrow(/x has 16 bytes, needs 32/);
    expect(() => k.bind({ W: big, x: big, y: small }, 8, 1)).toThrow(/y has 16 bytes, needs 32/);
    expect(() => k.bind({ W: big, x: big, y: big }, 0, 4)).toThrow(/positive integers/);
    expect(() => k.bind({ W: big, x: big, y: big }, 2.5, 4)).toThrow(/positive integers/);
    small.destroy();
    big.destroy();
  });

  it('runs under tsx (the CLI route: shaders read from disk, no ?raw)', () => {
    const r = spawnSync(process.execPath, ['node_modules/tsx/dist/cli.mjs', 'test/gpu-node/scripts/matvec-under-tsx.ts'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toContain('matvec_f32 under tsx: ok');
  });
});
