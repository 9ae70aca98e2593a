/**
 * Node GPU tests (Dawn, on Mesa lavapipe on the CPU-only machines):
 *
 *   import { expectClose, getTestDevice, randomFloats } from '../helpers/gpu';
 *   it('my kernel', async () => {
 *     const ctx = await getTestDevice();
 *     const x = randomFloats(100, 1);
 *     expectClose(await myKernel(ctx, x), cpuReference(x), { atol: 1e-6 });
 *   });
 *
 * Without an adapter a GPU test FAILS, never skips, with what is missing and the command that installs it.
 */
import { existsSync } from 'node:fs';
import { acquireDevice, type GpuContext } from '../../src/gpu/device';
import { NoWebGPUError } from '../../src/errors';

export { rng, randomFloats } from '../cases/random';

/** GPU tests must have a device here (CI=true or D2O_REQUIRE_GPU=1). */
export const requireGpu = process.env.CI === 'true' || process.env.CI === '1' || process.env.D2O_REQUIRE_GPU === '1';

const INSTALL = 'as root: bash scripts/install-system-deps.sh   (or by hand on Debian 12: see ../shared/docs/webgpu-without-a-gpu.md, route 1)';

let ctx: Promise<GpuContext> | undefined;

/** The Node test device, one per test file (each file runs in its own fork). */
export function getTestDevice(): Promise<GpuContext> {
  ctx ??= acquireDevice().catch((e: unknown) => {
    const what = e instanceof NoWebGPUError ? e.message : `acquireDevice() failed: ${(e as Error)?.message ?? e}`;
    const where = requireGpu
      ? 'GPU tests never skip in CI (CI=true / D2O_REQUIRE_GPU=1): the machine must provide a WebGPU adapter.'
      : 'GPU tests fail, never skip, without an adapter.';
    throw new Error(`No WebGPU device for the Node GPU tests: ${what}\n${where}\nTo install what is missing, run ${INSTALL}`, { cause: e });
  });
  return ctx;
}

/** Chromium for the browser route; throws with the install command when it is missing. */
export function requireChromium(path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'): string {
  if (!existsSync(path))
    throw new Error(
      `browser GPU tests need Chromium at ${path} (Debian's build, with SwiftShader): run as root: apt-get install -y chromium` +
        ' (or set CHROMIUM_PATH)',
    );
  return path;
}

export interface CloseOptions {
  /** Absolute tolerance. */
  atol?: number;
  /** Relative tolerance: element i passes when |a - e| <= atol + rtol * |e|. */
  rtol?: number;
  /** Prefix of the failure message. */
  label?: string;
}

export interface CloseReport {
  ok: boolean;
  /** Elements outside the tolerance (NaN counts). */
  bad: number;
  worstIndex: number;
  maxAbs: number;
  maxRel: number;
}

/** Element-wise |a - e| <= atol + rtol |e|; the worst element is the one most over its tolerance. */
export function closeReport(actual: ArrayLike<number>, expected: ArrayLike<number>, { atol = 0, rtol = 0 }: CloseOptions = {}): CloseReport {
  let bad = 0;
  let worstIndex = -1;
  let worstExcess = -Infinity;
  let maxAbs = 0;
  let maxRel = 0;
  const n = Math.min(actual.length, expected.length);
  for (let i = 0; i < n; i++) {
    const a = actual[i];
    const e = expected[i];
    const d = Math.abs(a - e);
    const excess = Number.isNaN(d) ? Infinity : d - (atol + rtol * Math.abs(e));
    if (excess > 0) bad++;
    if (excess > worstExcess) {
      worstExcess = excess;
      worstIndex = i;
    }
    if (d > maxAbs || Number.isNaN(d)) maxAbs = Number.isNaN(d) ? NaN : Math.max(maxAbs, d);
    if (e !== 0) maxRel = Math.max(maxRel, d / Math.abs(e));
  }
  return { ok: bad === 0 && actual.length === expected.length, bad, worstIndex, maxAbs, maxRel };
}

/** Fails the test with the worst index, its values, and how many elements are out of tolerance. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, opts: CloseOptions = {}): void {
  const label = opts.label ? `${opts.label}: ` : '';
  if (actual.length !== expected.length) throw new Error(`${label}length ${actual.length}, expected ${expected.length}`);
  const r = closeReport(actual, expected, opts);
  if (r.ok) return;
  const i = r.worstIndex;
  throw new Error(
    `${label}${r.bad} of ${expected.length} elements differ beyond atol ${opts.atol ?? 0} + rtol ${opts.rtol ?? 0} * |expected|; ` +
      `worst at index ${i}: actual ${actual[i]}, expected ${expected[i]} (|diff| ${Math.abs(actual[i] - expected[i])}); ` +
      `max |diff| ${r.maxAbs}, max rel ${r.maxRel}`,
  );
}
