/**
 * The GPU sampler vs the CPU reference sampler (src/cpu/sampler.ts), shared by the Node and the
 * browser tests. The ids must be EQUAL: the GPU follows the same rules, only in f32.
 */
import type { GpuContext } from '../../src/gpu/device';
import { StepParams } from '../../src/gpu/step-params';
import { readU32, storageBuffer } from '../../src/gpu/buffers';
import { gpuUniformAt, SampleKernel } from '../../src/gpu/sample';
import { sample } from '../../src/cpu/sampler';
import { resolveSampling, uniformAt, type SamplingOptions } from '../../src/backend/sampling';
import { rng } from './random';

/** `uniform_at` in WGSL vs `uniformAt` for n (seed, step) pairs: edge values, then pseudo-random ones. */
export async function uniformAtCheck(ctx: GpuContext, c: { n: number; seed?: number }): Promise<{ n: number; mismatches: number; first: [number, number, number, number] | null }> {
  const r = rng(c.seed ?? 99);
  const edges = [0, 1, 2, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x2545f491];
  const seeds = new Uint32Array(c.n);
  const steps = new Uint32Array(c.n);
  for (let i = 0; i < c.n; i++) {
    const e = i < edges.length * edges.length;
    seeds[i] = e ? edges[i % edges.length] : Math.floor(r() * 2 ** 32);
    // Mostly small steps (as in generation), some anywhere in u32.
    steps[i] = e ? edges[Math.floor(i / edges.length)] : i % 3 === 0 ? Math.floor(r() * 2 ** 32) : i;
  }
  const gpu = await gpuUniformAt(ctx, seeds, steps);
  let mismatches = 0;
  let first: [number, number, number, number] | null = null;
  for (let i = 0; i < c.n; i++) {
    const cpu = uniformAt(seeds[i], steps[i]);
    if (gpu[i] !== cpu) {
      mismatches++;
      first ??= [seeds[i], steps[i], gpu[i], cpu];
    }
  }
  return { n: c.n, mismatches, first };
}

export type LogitsKind = 'random' | 'ties' | 'peaked' | 'masked';

function makeLogits(kind: LogitsKind, vocab: number, r: () => number): Float32Array {
  switch (kind) {
    case 'random':
      return Float32Array.from({ length: vocab }, () => (r() * 2 - 1) * 6);
    case 'ties':
      // Few distinct values: ties everywhere, also at the top-k / top-p thresholds.
      return Float32Array.from({ length: vocab }, () => Math.floor(r() * 5) - 2);
    case 'peaked':
      // A realistic shape: a few strong candidates over a long tail.
      return Float32Array.from({ length: vocab }, () => (r() < 0.002 ? 8 + r() * 4 : (r() * 2 - 1) * 4));
    case 'masked':
      // Some ids forbidden with -Infinity.
      return Float32Array.from({ length: vocab }, () => (r() < 0.3 ? -Infinity : (r() * 2 - 1) * 5));
  }
}

export interface DrawCase {
  vocab: number;
  sampling: SamplingOptions;
  draws: number;
  logits?: LogitsKind;
  /** Context ids the repetition penalty sees (written once with writeRecent). */
  context?: number[];
  /** Steps used: stepBase + 7919 * d. */
  stepBase?: number;
  seed?: number;
}

export interface DrawResult {
  gpu: number[];
  cpu: number[];
}

/** `draws` independent draws on fresh logits, each at its own step. */
export async function drawCase(ctx: GpuContext, c: DrawCase): Promise<DrawResult> {
  const { device } = ctx;
  const o = resolveSampling(c.sampling);
  const kernel = new SampleKernel(ctx, c.vocab);
  kernel.setSampling(o);
  const context = c.context ?? [];
  kernel.writeRecent(0, context);
  const logits = storageBuffer(device, c.vocab * 4, 'logits');
  const ids = storageBuffer(device, 16, 'ids');
  const step = new StepParams(device);
  // A non-zero output slot, to check outIndex.
  const bound = kernel.bind({ logits, ids, step: step.buffer }, { outIndex: 2 });
  const r = rng(c.seed ?? 7);
  const gpu: number[] = [];
  const cpu: number[] = [];
  for (let d = 0; d < c.draws; d++) {
    const x = makeLogits(c.logits ?? 'random', c.vocab, r);
    const st = ((c.stepBase ?? 0) + 7919 * d) >>> 0;
    device.queue.writeBuffer(logits, 0, x);
    step.write({ pos0: 0, nTokens: context.length, step: st, seed: o.seed });
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    bound.encode(pass);
    pass.end();
    device.queue.submit([enc.finish()]);
    gpu.push((await readU32(device, ids, 4))[2]);
    cpu.push(sample(x, o, st, context));
  }
  bound.destroy();
  kernel.destroy();
  step.destroy();
  return { gpu, cpu };
}

/**
 * A decode loop as the backend runs it: the prompt is written once, then each step the forward
 * pass (here: fresh logits) runs the last token at pos0 = L - 1 and the sampler penalizes the last
 * `window` context ids from its ring and appends its own pick to it; the CPU never writes the
 * sampled ids. Returns both id sequences and whether the ring ends as the CPU context says.
 */
export async function decodeCase(ctx: GpuContext, c: { vocab: number; sampling: SamplingOptions; prompt: number; steps: number; ringSize?: number; logits?: LogitsKind; seed?: number }): Promise<DrawResult & { ringOk: boolean }> {
  const { device } = ctx;
  const o = resolveSampling(c.sampling);
  const kernel = new SampleKernel(ctx, c.vocab, c.ringSize);
  kernel.setSampling(o);
  const r = rng(c.seed ?? 11);
  // A prompt with repeats, so the penalty's "once per distinct id" matters.
  const context = Array.from({ length: c.prompt }, () => Math.floor(r() * Math.min(c.vocab, 50)));
  kernel.writeRecent(0, context);
  const logits = storageBuffer(device, c.vocab * 4, 'logits');
  const ids = storageBuffer(device, 16, 'ids');
  const step = new StepParams(device);
  const bound = kernel.bind({ logits, ids, step: step.buffer });
  const gpu: number[] = [];
  const cpu: number[] = [];
  for (let s = 0; s < c.steps; s++) {
    const x = makeLogits(c.logits ?? 'random', c.vocab, r);
    device.queue.writeBuffer(logits, 0, x);
    step.write({ pos0: context.length - 1, nTokens: 1, step: s, seed: o.seed });
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    bound.encode(pass);
    pass.end();
    device.queue.submit([enc.finish()]);
    const g = (await readU32(device, ids, 1))[0];
    const expected = sample(x, o, s, context);
    gpu.push(g);
    cpu.push(expected);
    // The CPU context follows the CPU reference, so one divergence shows as one mismatch.
    context.push(expected);
  }
  const ringSize = kernel.ringSize;
  const ring = await readU32(device, kernel.recent, ringSize);
  let ringOk = gpu.every((g, i) => g === cpu[i]);
  for (let p = Math.max(0, context.length - ringSize); p < context.length; p++) if (ring[p % ringSize] !== context[p]) ringOk = false;
  bound.destroy();
  kernel.destroy();
  step.destroy();
  return { gpu, cpu, ringOk };
}
