/** matvec_f32 on the page's device next to the CPU reference (also usable from Node: it is plain TS). */
import type { GpuContext } from '../../../../src/gpu/device';
import { MatvecF32, matvecF32 } from '../../../../src/gpu/matvec_f32';
import { matvec } from '../../../../src/cpu/matvec';
import { randomFloats } from '../../../cases/random';

export interface MatvecF32Case {
  rows: number;
  cols: number;
  seed?: number;
  /** Lower than the device's limit to exercise the 2-D dispatch with few rows. */
  maxWorkgroupsPerDimension?: number;
}

export interface MatvecF32Result {
  gpu: number[];
  cpu: number[];
  entryPoint: string;
  dispatch: [number, number];
}

export async function matvecF32Case(ctx: GpuContext, c: MatvecF32Case): Promise<MatvecF32Result> {
  const seed = c.seed ?? c.rows * 131 + c.cols;
  const W = randomFloats(c.rows * c.cols, seed);
  const x = randomFloats(c.cols, seed + 1);
  const kernel = c.maxWorkgroupsPerDimension ? new MatvecF32(ctx, { maxWorkgroupsPerDimension: c.maxWorkgroupsPerDimension }) : undefined;
  const r = await matvecF32(ctx, W, x, c.rows, c.cols, kernel);
  return { gpu: Array.from(r.y), cpu: Array.from(matvec(W, x, c.rows, c.cols)), entryPoint: r.entryPoint, dispatch: [r.dispatch[0], r.dispatch[1]] };
}
