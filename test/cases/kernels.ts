/** GPU kernels vs their CPU references, shared by the Node and the browser tests. */
import type { GpuContext } from '../../src/gpu/device';
import type { KernelVariant } from '../../src/gpu/variant';
import type { DType, RopeConfig } from '../../src/model/types';
import { StepParams } from '../../src/gpu/step-params';
import { readF32, readU32, storageBuffer } from '../../src/gpu/buffers';
import { RmsNormKernel } from '../../src/gpu/rmsnorm';
import { RopeKernel, RopeTable } from '../../src/gpu/rope';
import { SwigluKernel } from '../../src/gpu/swiglu';
import { EmbeddingKernel } from '../../src/gpu/embedding';
import { SampleKernel } from '../../src/gpu/sample';
import { uploadMatrix } from '../../src/gpu/weights';
import { rmsnorm, rope, silu } from '../../src/cpu/ops';
import { ropeInvFreq } from '../../src/math/rope-freq';
import { sample } from '../../src/cpu/sampler';
import { resolveSampling, type SamplingOptions } from '../../src/backend/sampling';
import { dequantize } from '../../src/model/dtypes';
import { compare, randomFloats, rng, type Comparison } from './random';
import { randomWeight } from './weights-kernels';
import { submitPass } from './submit';


function stepParams(ctx: GpuContext, pos0: number, nTokens: number, step = 0, seed = 0): StepParams {
  const s = new StepParams(ctx.device);
  s.write({ pos0, nTokens, step, seed });
  return s;
}

export async function rmsnormCase(ctx: GpuContext, c: { variant: KernelVariant; tokens: number; width: number; lastOnly?: boolean; seed?: number }): Promise<Comparison> {
  const { device } = ctx;
  const x = randomFloats(c.tokens * c.width, c.seed ?? 1, 3);
  const w = randomFloats(c.width, (c.seed ?? 1) + 1);
  const eps = 1e-5;
  const rows = c.lastOnly ? [c.tokens - 1] : Array.from({ length: c.tokens }, (_, t) => t);
  const expected = new Float32Array(rows.length * c.width);
  rows.forEach((r, i) => rmsnorm(expected.subarray(i * c.width, (i + 1) * c.width), x.subarray(r * c.width, (r + 1) * c.width), w, eps));
  const out = storageBuffer(device, expected.length * 4);
  const step = stepParams(ctx, 0, c.tokens);
  const k = new RmsNormKernel(device, { variant: c.variant }).bind({ x: storageBuffer(device, x), weight: storageBuffer(device, w), out, step: step.buffer }, { width: c.width, eps, lastOnly: c.lastOnly });
  submitPass(ctx, (p) => k.encode(p, { tokens: c.tokens }));
  // One rsqrt and a sum of squares in f32: a few ulps relative.
  return compare(await readF32(device, out, expected.length), expected, 1e-6, 2e-5);
}

export async function ropeCase(
  ctx: GpuContext,
  c: { tokens: number; heads: number; kvHeads: number; headDim: number; pos0: number; layout: RopeConfig['layout']; llama3?: boolean },
): Promise<Comparison> {
  const { device } = ctx;
  const rc: RopeConfig = {
    theta: c.llama3 ? 500000 : 10000,
    layout: c.layout,
    scaling: c.llama3 ? { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 } : null,
  };
  const q = randomFloats(c.tokens * c.heads * c.headDim, 3);
  const k = randomFloats(c.tokens * c.kvHeads * c.headDim, 4);
  const inv = ropeInvFreq(c.headDim, rc);
  const eq = q.slice();
  const ek = k.slice();
  for (let t = 0; t < c.tokens; t++) {
    rope(eq.subarray(t * c.heads * c.headDim, (t + 1) * c.heads * c.headDim), c.heads, c.headDim, c.pos0 + t, inv, c.layout);
    rope(ek.subarray(t * c.kvHeads * c.headDim, (t + 1) * c.kvHeads * c.headDim), c.kvHeads, c.headDim, c.pos0 + t, inv, c.layout);
  }
  const qb = storageBuffer(device, q);
  const kb = storageBuffer(device, k);
  const step = stepParams(ctx, c.pos0, c.tokens);
  const table = new RopeTable(device, c.headDim, rc);
  const bound = new RopeKernel(device).bind({ q: qb, k: kb, table, step: step.buffer }, { numHeads: c.heads, numKvHeads: c.kvHeads, headDim: c.headDim, layout: c.layout });
  submitPass(ctx, (p) => bound.encode(p, { tokens: c.tokens }));
  const actual = new Float32Array([...(await readF32(device, qb, q.length)), ...(await readF32(device, kb, k.length))]);
  // Same cos/sin table; only the two products and a sum are rounded differently.
  return compare(actual, new Float32Array([...eq, ...ek]), 1e-6, 1e-6);
}

export async function swigluCase(ctx: GpuContext, c: { tokens: number; width: number }): Promise<Comparison> {
  const { device } = ctx;
  const g = randomFloats(c.tokens * c.width, 5, 6);
  const u = randomFloats(c.tokens * c.width, 6, 2);
  const expected = g.map((x, i) => silu(x) * u[i]);
  const gb = storageBuffer(device, g);
  const step = stepParams(ctx, 0, c.tokens);
  const k = new SwigluKernel(device).bind({ gate: gb, up: storageBuffer(device, u), step: step.buffer }, { width: c.width });
  submitPass(ctx, (p) => k.encode(p, { tokens: c.tokens }));
  // exp in f32 (WGSL: 3 + 2|x| ulp): a few 1e-6 relative.
  return compare(await readF32(device, gb, g.length), expected, 1e-6, 1e-5);
}

export async function embeddingCase(ctx: GpuContext, c: { dtype: DType; vocab: number; cols: number; ids: number[]; maxBinding?: number }): Promise<Comparison> {
  const { device } = ctx;
  const t = randomWeight(c.dtype, c.vocab, c.cols, 9);
  const w = dequantize(t);
  const expected = new Float32Array(c.ids.length * c.cols);
  c.ids.forEach((id, i) => expected.set(w.subarray(id * c.cols, (id + 1) * c.cols), i * c.cols));
  const out = storageBuffer(device, expected.length * 4);
  const step = stepParams(ctx, 0, c.ids.length);
  const k = new EmbeddingKernel(device).bind({ weight: uploadMatrix(device, t, c.maxBinding), ids: storageBuffer(device, Uint32Array.from(c.ids)), out, step: step.buffer });
  submitPass(ctx, (p) => k.encode(p, { tokens: c.ids.length }));
  // A gather: exact.
  return compare(await readF32(device, out, expected.length), expected, 0, 0);
}

export interface SampleCase {
  vocab: number;
  sampling: SamplingOptions;
  draws: number;
  /** Context ids the repetition penalty sees. */
  context?: number[];
  ties?: boolean;
  seed?: number;
}

/** Returns the GPU ids and the CPU reference ids for `draws` steps on fresh random logits. */
export async function sampleCase(ctx: GpuContext, c: SampleCase): Promise<{ gpu: number[]; cpu: number[] }> {
  const { device } = ctx;
  const o = resolveSampling(c.sampling);
  const kernel = new SampleKernel(device, c.vocab);
  kernel.setSampling(o);
  const context = c.context ?? [];
  kernel.writeRecent(0, context);
  const logits = storageBuffer(device, c.vocab * 4);
  const ids = storageBuffer(device, 16);
  const step = new StepParams(device);
  const bound = kernel.bind({ logits, ids, step: step.buffer });
  const r = rng(c.seed ?? 7);
  const gpu: number[] = [];
  const cpu: number[] = [];
  for (let d = 0; d < c.draws; d++) {
    const x = Float32Array.from({ length: c.vocab }, () => (c.ties ? Math.floor(r() * 4) : (r() * 2 - 1) * 6));
    device.queue.writeBuffer(logits, 0, x);
    step.write({ pos0: 0, nTokens: context.length, step: d, seed: o.seed });
    submitPass(ctx, (p) => bound.encode(p));
    gpu.push((await readU32(device, ids, 1))[0]);
    cpu.push(sample(x, o, d, context));
  }
  kernel.destroy();
  return { gpu, cpu };
}
