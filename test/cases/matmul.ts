/** Matmul on the GPU vs the CPU reference on the dequantized weights (shared by Node and browser tests). */
import type { GpuContext } from '../../src/gpu/device';
import { MatmulKernel } from '../../src/gpu/matmul';
import { uploadMatrix } from '../../src/gpu/weights';
import { StepParams } from '../../src/gpu/step-params';
import { readF32, storageBuffer } from '../../src/gpu/buffers';
import type { KernelVariant } from '../../src/gpu/variant';
import type { DType, Tensor } from '../../src/model/types';
import { dequantize } from '../../src/model/dtypes';
import { randomWeight } from './weights-kernels';
import { compare, randomFloats, type Comparison } from './random';


export interface MatmulCase {
  dtype: DType;
  variant: KernelVariant;
  rows: number;
  cols: number;
  tokens: number;
  accumulate?: boolean;
  /** Forces slicing by pretending the binding limit is this many bytes. */
  maxBinding?: number;
  seed?: number;
}

export async function matmulCase(ctx: GpuContext, c: MatmulCase): Promise<Comparison & { slices: number }> {
  const { device } = ctx;
  const seed = c.seed ?? 1;
  const t = randomWeight(c.dtype, c.rows, c.cols, seed);
  const w = dequantize(t);
  const x = randomFloats(c.tokens * c.cols, seed + 1);
  const y0 = randomFloats(c.tokens * c.rows, seed + 2);

  const expected = new Float32Array(c.tokens * c.rows);
  for (let tok = 0; tok < c.tokens; tok++)
    for (let r = 0; r < c.rows; r++) {
      let acc = c.accumulate ? y0[tok * c.rows + r] : 0;
      let dot = 0;
      for (let k = 0; k < c.cols; k++) dot += w[r * c.cols + k] * x[tok * c.cols + k];
      expected[tok * c.rows + r] = acc + dot;
    }

  const weight = uploadMatrix(device, t, c.maxBinding);
  const xb = storageBuffer(device, x);
  const yb = storageBuffer(device, y0);
  const step = new StepParams(device);
  step.write({ pos0: 0, nTokens: c.tokens, step: 0, seed: 0 });
  const bound = new MatmulKernel(device, { variant: c.variant }).bind({ weight, x: xb, y: yb, step: step.buffer }, { accumulate: c.accumulate });
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  bound.encode(pass, { tokens: c.tokens });
  pass.end();
  device.queue.submit([enc.finish()]);
  const actual = await readF32(device, yb, c.tokens * c.rows);
  for (const b of [xb, yb]) b.destroy();
  weight.destroy();
  step.destroy();
  // f32 sums in another order: error grows like sqrt(cols) ulps of the terms (|w x| <= 1 here).
  return { ...compare(actual, expected, 2e-6 * Math.sqrt(c.cols) * 4, 1e-5), slices: weight.slices.length };
}
