/**
 * RMSNorm, RoPE and SwiGLU on the GPU vs the CPU references (src/cpu/ops.ts), shared by the Node
 * and the browser tests. Each case binds once and runs several steps with different T (and
 * positions), as the forward pass does, and checks every element against an error bound derived
 * from the f32 operations involved (stated at each case), in units of u = 2^-24.
 */
import type { GpuContext } from '../../src/gpu/device';
import type { KernelVariant } from '../../src/gpu/variant';
import type { RopeConfig } from '../../src/model/types';
import { StepParams } from '../../src/gpu/step-params';
import { readF32, storageBuffer } from '../../src/gpu/buffers';
import { RmsNormKernel } from '../../src/gpu/rmsnorm';
import { RopeTable } from '../../src/gpu/rope';
import { KvAppendKernel } from '../../src/gpu/kv_append';
import { GpuKvCache } from '../../src/gpu/kv-cache';
import { SwigluKernel } from '../../src/gpu/swiglu';
import { rmsnorm, rope, silu } from '../../src/cpu/ops';
import { ropeInvFreq } from '../../src/math/rope-freq';
import { randomFloats } from './random';
import { submitPass } from './submit';

const U = 2 ** -24;

export interface BoundCheck {
  ok: boolean;
  /** Largest |gpu - cpu| / bound over all elements (ok when <= 1). */
  worstRatio: number;
  worstIndex: number;
  maxAbs: number;
  /** Per case: the measured error in the units the bound is stated in. */
  measured: number;
}


function check(actual: ArrayLike<number>, expected: ArrayLike<number>, bound: (i: number) => number, measure: (i: number, d: number) => number): BoundCheck {
  let worstRatio = 0;
  let worstIndex = -1;
  let maxAbs = 0;
  let measured = 0;
  let ok = actual.length === expected.length;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    const ratio = d === 0 ? 0 : d / bound(i);
    if (!(ratio <= 1)) ok = false;
    if (ratio > worstRatio || Number.isNaN(ratio)) {
      worstRatio = ratio;
      worstIndex = i;
    }
    maxAbs = Math.max(maxAbs, d);
    measured = Math.max(measured, measure(i, d));
  }
  return { ok, worstRatio, worstIndex, maxAbs, measured };
}

function merge(parts: BoundCheck[]): BoundCheck {
  const worst = parts.reduce((a, b) => (b.worstRatio > a.worstRatio ? b : a));
  return { ...worst, ok: parts.every((p) => p.ok), maxAbs: Math.max(...parts.map((p) => p.maxAbs)), measured: Math.max(...parts.map((p) => p.measured)) };
}

/**
 * RMSNorm of T rows for each T in `steps` (one bind, buffers sized for the largest T).
 * Bound, relative to |expected|: the f32 sum of squares of n terms in sequence has relative error
 * <= (n - 1)u (n = ceil(width / 4) per accumulator in `simple`, ceil(width / 64) + 6 tree levels in
 * `tiled`, + 2 combining); it reaches the scale halved by the square root; the division by width
 * (2.5 ulp), + eps (0.5 ulp) and inverseSqrt (2 ulp) add <= 10u, the two products 2u and the
 * CPU's own rounding to f32 1u. measured: max relative error in u.
 */
export async function rmsnormCheck(ctx: GpuContext, c: { variant: KernelVariant; steps: number[]; width: number; lastOnly?: boolean; seed?: number }): Promise<BoundCheck> {
  const { device } = ctx;
  const maxT = Math.max(...c.steps);
  const seed = c.seed ?? 1;
  const w = randomFloats(c.width, seed + 100);
  const eps = 1e-5;
  const x = storageBuffer(device, maxT * c.width * 4, 'x');
  const out = storageBuffer(device, maxT * c.width * 4, 'out');
  const step = new StepParams(device);
  const kernel = new RmsNormKernel(ctx, { variant: c.variant });
  const bound = kernel.bind({ x, weight: storageBuffer(device, w), out, step: step.buffer }, { width: c.width, eps, lastOnly: c.lastOnly });
  const serial = c.variant === 'simple' ? Math.ceil(c.width / 4) + 2 : Math.ceil(c.width / 64) + 6;
  const rtol = ((serial + 3) / 2 + 10 + 2 + 1) * U;
  const parts: BoundCheck[] = [];
  for (const [k, T] of c.steps.entries()) {
    const xs = randomFloats(T * c.width, seed + k, 3);
    device.queue.writeBuffer(x, 0, xs);
    step.write({ pos0: 0, nTokens: T, step: 0, seed: 0 });
    submitPass(ctx, (p) => bound.encode(p, { tokens: T }));
    const rows = c.lastOnly ? [T - 1] : Array.from({ length: T }, (_, t) => t);
    const expected = new Float32Array(rows.length * c.width);
    rows.forEach((r, i) => rmsnorm(expected.subarray(i * c.width, (i + 1) * c.width), xs.subarray(r * c.width, (r + 1) * c.width), w, eps));
    const actual = await readF32(device, out, expected.length);
    parts.push(check(actual, expected, (i) => rtol * Math.abs(expected[i]), (i, d) => (expected[i] === 0 ? 0 : d / Math.abs(expected[i]) / U)));
  }
  bound.destroy();
  step.destroy();
  return merge(parts);
}

export interface RopeCheckCase {
  heads: number;
  kvHeads: number;
  headDim: number;
  layout: RopeConfig['layout'];
  /** (pos0, T) of each step, run in order on one bound kernel. */
  steps: [number, number][];
  llama3?: boolean;
}

export interface RopeCheck extends BoundCheck {
  /** Largest |gpu - ideal| / (|x0| + |x1|) where the ideal rotates by the exact (f64) angle pos * invFreq. */
  vsExactAngle: number;
}

/**
 * RoPE in place on q and k (by the KV append, which then stores k and v). Per rotated pair (x0, x1) -> (y0, y1), bound on |gpu - cpu|:
 * u * (4 (|x0| + |x1|) + 2 |y|): cos/sin within 2.2u (+ margin to 3u) of Math.cos/sin of the same
 * f32 angle (which both compute bit-identically), the products and the sum 1u each scaled by
 * |x0| + |x1|, the GPU's final rounding and the CPU's rounding to f32 1u |y| each.
 * measured: max |gpu - cpu| / (|x0| + |x1|) in u.
 */
export async function ropeCheck(ctx: GpuContext, c: RopeCheckCase): Promise<RopeCheck> {
  const { device } = ctx;
  const rc: RopeConfig = {
    theta: c.llama3 ? 500000 : 10000,
    layout: c.layout,
    scaling: c.llama3 ? { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 } : null,
  };
  const maxT = Math.max(...c.steps.map((s) => s[1]));
  const qw = c.heads * c.headDim;
  const kw = c.kvHeads * c.headDim;
  const qb = storageBuffer(device, maxT * qw * 4, 'q');
  const kb = storageBuffer(device, maxT * kw * 4, 'k');
  const step = new StepParams(device);
  const table = new RopeTable(ctx, c.headDim, rc);
  const inv = ropeInvFreq(c.headDim, rc);
  const vb = storageBuffer(device, maxT * kw * 4, 'v');
  // A small cache: slots past its capacity are dropped, RoPE still applies to every token.
  const cache = new GpuKvCache(device, { numLayers: 1, numKvHeads: c.kvHeads, headDim: c.headDim, capacity: 32, initialSlots: 32 });
  const bound = new KvAppendKernel(ctx).bind({ k: kb, v: vb, cache, layer: 0, step: step.buffer, rope: { q: qb, table, numHeads: c.heads, layout: c.layout } });
  const half = c.headDim / 2;
  const parts: BoundCheck[] = [];
  let vsExactAngle = 0;
  for (const [n, [pos0, T]] of c.steps.entries()) {
    const q = randomFloats(T * qw, 3 + 2 * n);
    const k = randomFloats(T * kw, 4 + 2 * n);
    device.queue.writeBuffer(qb, 0, q);
    device.queue.writeBuffer(kb, 0, k);
    step.write({ pos0, nTokens: T, step: 0, seed: 0 });
    submitPass(ctx, (p) => bound.encode(p, { tokens: T }));
    const actual = [await readF32(device, qb, q.length), await readF32(device, kb, k.length)];
    for (const [which, input] of [q, k].entries()) {
      const heads = which === 0 ? c.heads : c.kvHeads;
      const expected = input.slice();
      for (let t = 0; t < T; t++) rope(expected.subarray(t * heads * c.headDim, (t + 1) * heads * c.headDim), heads, c.headDim, pos0 + t, inv, c.layout);
      // The partner of each element in its rotated pair, and its position.
      const pairSum = (i: number) => {
        const j = i % c.headDim;
        const base = i - j;
        const idx = c.layout === 'half' ? j % half : j >> 1;
        const a = c.layout === 'half' ? base + idx : base + 2 * idx;
        const b = c.layout === 'half' ? base + idx + half : base + 2 * idx + 1;
        return Math.abs(input[a]) + Math.abs(input[b]);
      };
      const got = actual[which];
      parts.push(check(got, expected, (i) => U * (4 * pairSum(i) + 2 * Math.abs(expected[i])), (i, d) => d / pairSum(i) / U));
      // Against the rotation by the exact angle (not what the references compute: for information).
      for (let t = 0; t < T; t++)
        for (let h = 0; h < heads; h++)
          for (let i = 0; i < half; i++) {
            const base = (t * heads + h) * c.headDim;
            const a = c.layout === 'half' ? base + i : base + 2 * i;
            const b = c.layout === 'half' ? base + i + half : base + 2 * i + 1;
            const angle = (pos0 + t) * inv[i];
            const [co, si] = [Math.cos(angle), Math.sin(angle)];
            const y0 = input[a] * co - input[b] * si;
            const y1 = input[a] * si + input[b] * co;
            const s = Math.abs(input[a]) + Math.abs(input[b]);
            vsExactAngle = Math.max(vsExactAngle, Math.abs(got[a] - y0) / s, Math.abs(got[b] - y1) / s);
          }
    }
  }
  bound.destroy();
  table.destroy();
  step.destroy();
  cache.destroy();
  for (const b of [qb, kb, vb]) b.destroy();
  return { ...merge(parts), vsExactAngle };
}

/**
 * SwiGLU, in place or into `out`. Bound relative to |expected|: exp(-g) (3 + 2|g| ulp, WGSL), the
 * 1 + (0.5 ulp), the division (2.5 ulp), the product by up (0.5 ulp) and the CPU's rounding to f32
 * (0.5 ulp): (7 + 2|g|) ulp = (14 + 4|g|)u. measured: max relative error in u.
 */
export async function swigluCheck(ctx: GpuContext, c: { steps: number[]; width: number; toOut?: boolean }): Promise<BoundCheck> {
  const { device } = ctx;
  const maxT = Math.max(...c.steps);
  const gb = storageBuffer(device, maxT * c.width * 4, 'gate');
  const ub = storageBuffer(device, maxT * c.width * 4, 'up');
  const ob = c.toOut ? storageBuffer(device, maxT * c.width * 4, 'out') : undefined;
  const step = new StepParams(device);
  const bound = new SwigluKernel(ctx).bind({ gate: gb, up: ub, out: ob, step: step.buffer }, { width: c.width });
  const parts: BoundCheck[] = [];
  for (const [n, T] of c.steps.entries()) {
    const g = randomFloats(T * c.width, 5 + n, 8);
    const u = randomFloats(T * c.width, 6 + n, 2);
    device.queue.writeBuffer(gb, 0, g);
    device.queue.writeBuffer(ub, 0, u);
    step.write({ pos0: 0, nTokens: T, step: 0, seed: 0 });
    submitPass(ctx, (p) => bound.encode(p, { tokens: T }));
    const expected = g.map((x, i) => silu(x) * u[i]);
    const actual = await readF32(device, ob ?? gb, expected.length);
    parts.push(check(actual, expected, (i) => (14 + 4 * Math.abs(g[i])) * U * Math.abs(expected[i]), (i, d) => (expected[i] === 0 ? 0 : d / Math.abs(expected[i]) / U)));
    if (ob) {
      // The out-of-place entry point leaves gate untouched.
      const gateAfter = await readF32(device, gb, g.length);
      if (gateAfter.some((v, i) => v !== g[i])) parts.push({ ok: false, worstRatio: Infinity, worstIndex: -1, maxAbs: Infinity, measured: Infinity });
    }
  }
  bound.destroy();
  step.destroy();
  return merge(parts);
}
