/**
 * Weight upload, matvec, matmul and embedding on the GPU vs CPU references computed on the
 * DEQUANTIZED weights in float64 (shared by the Node tests and the browser page).
 *
 * Tolerance of a dot product (per output element): the GPU sums the f32 products w*x in f32 in some
 * order (the weights decode exactly: f16/bf16 -> f32 is exact and q * d is exact in f32, an int8
 * times an 11-bit mantissa). With unit roundoff u = 2^-24 and rounding errors that behave like
 * independent random variables, the error of an n-term sum is about sqrt(n) * u * sum|w x| (the
 * worst case is n * u * sum|w x|). We allow
 *     |gpu - ref| <= 4 * sqrt(cols) * u * sum_c |w_c x_c|  +  u * (|y0| + |ref|)
 * (the second term: the accumulate add and the final rounding). A wrong weight, column or row costs
 * about |w x| ~ sum|w x| / cols, far above this for every shape tested; `worstRatio` reports how
 * much of the allowance was used.
 */
import type { GpuContext } from '../../src/gpu/device';
import { MatvecKernel } from '../../src/gpu/matvec';
import { MatmulKernel, type MatmulTile } from '../../src/gpu/matmul';
import { interleavePairs } from '../../src/gpu/fused';
import { EmbeddingKernel } from '../../src/gpu/embedding';
import { uploadTensor, type F16Mode, type GpuTensor } from '../../src/gpu/weights';
import { StepParams } from '../../src/gpu/step-params';
import { readBuffer, readF32, storageBuffer } from '../../src/gpu/buffers';
import type { KernelVariant } from '../../src/gpu/variant';
import type { DType, Tensor } from '../../src/model/types';
import { dequantize } from '../../src/model/dtypes';
import { quantize } from '../../src/model/quantize';
import { randomFloats } from './random';

const U = 2 ** -24;

/** A random [rows, cols] tensor in `dtype` (quantized with llama.cpp's reference quantizers). */
export function randomWeight(dtype: DType, rows: number, cols: number, seed: number): Tensor {
  const f = randomFloats(rows * cols, seed);
  const data = quantize(dtype, f);
  return { name: `random ${dtype} [${rows}, ${cols}]`, dtype, shape: [rows, cols], data };
}

export interface Check {
  ok: boolean;
  /** Largest |gpu - ref| / allowance (<= 1 passes). */
  worstRatio: number;
  worstIndex: number;
  maxAbs: number;
  count: number;
}

export function check(actual: ArrayLike<number>, expected: ArrayLike<number>, allowance: ArrayLike<number>): Check {
  let worstRatio = 0;
  let worstIndex = -1;
  let maxAbs = 0;
  let ok = actual.length === expected.length;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    const r = allowance[i] > 0 ? d / allowance[i] : d === 0 ? 0 : Infinity;
    if (!(r <= 1)) ok = false;
    if (!(r <= worstRatio)) {
      worstRatio = Number.isNaN(r) ? Infinity : r;
      worstIndex = i;
    }
    maxAbs = Math.max(maxAbs, d);
  }
  return { ok, worstRatio, worstIndex, maxAbs, count: expected.length };
}

/** Y[t, r] = y0[t, r] + sum_c W[r, c] X[t, c] in float64, and the allowance of each element (see top). */
export function referenceMatmul(w: Float32Array, rows: number, cols: number, x: Float32Array, tokens: number, y0?: Float32Array): { expected: Float64Array; allowance: Float64Array } {
  const expected = new Float64Array(tokens * rows);
  const allowance = new Float64Array(tokens * rows);
  const k = 4 * Math.sqrt(cols) * U;
  for (let t = 0; t < tokens; t++)
    for (let r = 0; r < rows; r++) {
      let dot = 0;
      let abs = 0;
      for (let c = 0; c < cols; c++) {
        const p = w[r * cols + c] * x[t * cols + c];
        dot += p;
        abs += Math.abs(p);
      }
      const i = t * rows + r;
      const base = y0 ? y0[i] : 0;
      expected[i] = base + dot;
      allowance[i] = k * abs + U * (Math.abs(base) + Math.abs(expected[i]));
    }
  return { expected, allowance };
}

async function submit(device: GPUDevice, encode: (pass: GPUComputePassEncoder) => void): Promise<void> {
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  encode(pass);
  pass.end();
  device.queue.submit([enc.finish()]);
  await device.queue.onSubmittedWorkDone();
}

/** Fails on any validation error of `fn` (WebGPU reports them asynchronously otherwise). */
async function validated<T>(device: GPUDevice, fn: () => Promise<T>): Promise<T> {
  device.pushErrorScope('validation');
  let out: T;
  try {
    out = await fn();
  } finally {
    const err = await device.popErrorScope();
    if (err) throw new Error(`WebGPU validation error: ${err.message}`);
  }
  return out;
}

export interface ProductCase {
  dtype: DType;
  variant: KernelVariant;
  rows: number;
  cols: number;
  /** Tokens (matmul; matvec is one). */
  tokens?: number;
  accumulate?: boolean;
  /** Forces row slicing by pretending the binding limit is this many bytes. */
  maxBinding?: number;
  f16?: F16Mode;
  subgroups?: boolean;
  /** Forces the 2-D (matvec) / 3-D (matmul) dispatch by pretending a dimension holds this many workgroups. */
  maxGroups?: number;
  /** Floats of x before the input (and of y before the output), to test the offsets. */
  xOffset?: number;
  rowOffset?: number;
  /** Rows where the 2nd (and 3rd) output part starts (a fused weight's outputs in their own buffers). */
  parts?: number[];
  /** Adds a random bias per row. */
  bias?: boolean;
  /** The simple matmul's register tile (default SIMPLE_TILE). */
  tile?: MatmulTile;
  seed?: number;
}

export interface ProductResult extends Check {
  slices: number;
  /** Whether the pipeline reduced with subgroups (what was actually tested). */
  subgroups: boolean;
  /** How the kernel read f16 weights on this device (what was actually tested). */
  f16: F16Mode;
}

/** The parts of [tokens, rows] outputs: row ranges [from, to), each read back as its own [tokens, to - from]. */
function partRanges(c: ProductCase, rows: number): [number, number][] {
  const starts = [0, ...(c.parts ?? [])];
  return starts.map((from, i) => [from, starts[i + 1] ?? rows]);
}

/** Runs matvec (tokens undefined) or matmul on a given weight and inputs; returns y (part 1) and the other parts as read back. */
async function runProduct(ctx: GpuContext, c: ProductCase, weight: GpuTensor, x: Float32Array, yInit: Float32Array, partInit: Float32Array[], bias: Float32Array | undefined, matvec: boolean): Promise<{ y: Float32Array; parts: Float32Array[]; subgroups: boolean; f16: F16Mode }> {
  const { device } = ctx;
  const xb = storageBuffer(device, x);
  const yb = storageBuffer(device, yInit);
  const pb = partInit.map((p) => storageBuffer(device, p));
  const bb = bias && storageBuffer(device, bias);
  const step = new StepParams(device);
  const tokens = c.tokens ?? 1;
  step.write({ pos0: 0, nTokens: tokens, step: 0, seed: 0 });
  const out = { y: yb, parts: c.parts?.map((from, i) => ({ from, y: pb[i] })), bias: bb };
  try {
    return await validated(device, async () => {
      let subgroups: boolean;
      let f16: F16Mode;
      if (matvec) {
        const k = new MatvecKernel(ctx, { variant: c.variant, f16: c.f16, subgroups: c.subgroups, maxGroups: c.maxGroups });
        subgroups = k.variant === 'tiled' && k.subgroups;
        f16 = k.f16;
        const bound = k.bind({ weight, x: xb, ...out }, { accumulate: c.accumulate, xOffset: c.xOffset, rowOffset: c.rowOffset });
        await submit(device, (p) => bound.encode(p));
        bound.destroy();
      } else {
        const k = new MatmulKernel(ctx, { variant: c.variant, f16: c.f16, subgroups: c.subgroups, maxGroups: c.maxGroups, tile: c.tile });
        subgroups = tokens === 1 && k.variant === 'tiled' && k.subgroups;
        f16 = k.f16;
        const bound = k.bind({ weight, x: xb, step: step.buffer, ...out }, { accumulate: c.accumulate, xOffset: c.xOffset, yOffset: c.rowOffset });
        await submit(device, (p) => bound.encode(p, { tokens }));
        bound.destroy();
      }
      const parts = await Promise.all(pb.map((b, i) => readF32(device, b, partInit[i].length)));
      return { y: await readF32(device, yb, yInit.length), parts, subgroups, f16 };
    });
  } finally {
    for (const b of [xb, yb, ...pb, step]) b.destroy();
    bb?.destroy();
  }
}

/** matvec (c.tokens undefined) or matmul (c.tokens >= 1) of `t` vs the float64 reference. */
export async function productOnTensor(ctx: GpuContext, c: ProductCase, t: Tensor, matvec: boolean): Promise<ProductResult> {
  const { device } = ctx;
  const seed = c.seed ?? 1;
  const [rows, cols] = t.shape;
  const tokens = c.tokens ?? 1;
  const xOff = c.xOffset ?? 0;
  const yOff = c.rowOffset ?? 0;
  const w = dequantize(t);
  const x = randomFloats(tokens * cols, seed + 1);
  if (c.accumulate && c.parts) throw new RangeError('only the first output part accumulates');
  const bias = c.bias ? randomFloats(rows, seed + 3) : undefined;
  const acc0 = c.accumulate ? randomFloats(tokens * rows, seed + 2) : undefined;
  const y0 = bias ? Float32Array.from({ length: tokens * rows }, (_, i) => (acc0?.[i] ?? 0) + bias[i % rows]) : acc0;
  const { expected, allowance } = referenceMatmul(w, rows, cols, x, tokens, y0);
  // The bias is added to the dot product before the accumulate: one more rounding.
  if (bias) allowance.forEach((a, i) => (allowance[i] = a + U * Math.abs(bias[i % rows])));
  // Part 1 (all of y when not split): after yOff floats, then 3 guard floats that must stay untouched; other parts likewise, without the offset.
  const ranges = partRanges(c, rows);
  const [p1From, p1To] = ranges[0];
  const p1Rows = p1To - p1From;
  const xAll = new Float32Array(xOff + x.length);
  xAll.set(x, xOff);
  const guard = 12345.5;
  const yInit = new Float32Array(yOff + tokens * p1Rows + 3).fill(guard);
  if (acc0) yInit.set(acc0, yOff);
  const partInit = ranges.slice(1).map(([a, b]) => new Float32Array(tokens * (b - a) + 3).fill(guard));
  const weight = uploadTensor(device, t, { maxBinding: c.maxBinding });
  try {
    const { y, parts, subgroups, f16 } = await runProduct(ctx, c, weight, xAll, yInit, partInit, bias, matvec);
    // Reassemble [tokens, rows] from the parts.
    const actual = new Float32Array(tokens * rows);
    const outs = [y.subarray(yOff), ...parts];
    let guardsOk = [...y.subarray(0, yOff)].every((v) => v === guard);
    ranges.forEach(([a, b], i) => {
      const n = b - a;
      for (let tk = 0; tk < tokens; tk++) actual.set(outs[i].subarray(tk * n, (tk + 1) * n), tk * rows + a);
      guardsOk &&= [...outs[i].subarray(tokens * n)].every((v) => v === guard);
    });
    const r = check(actual, expected, allowance);
    return { ...r, ok: r.ok && guardsOk, slices: weight.slices.length, subgroups, f16 };
  } finally {
    weight.destroy();
  }
}

export interface GluCase {
  dtype: DType;
  variant: KernelVariant;
  /** Rows of gate (and of up): even. */
  rows: number;
  cols: number;
  /** matmul's T; undefined: matvec. */
  tokens?: number;
  maxBinding?: number;
  seed?: number;
}

/**
 * Gate and up interleaved in pairs (fused.ts interleavePairs) through matvec or matmul with the
 * `glu` output. The simple matvec writes h = SiLU(g) * u into gate and leaves up untouched: bound
 * 1.1 a_g |u| + |SiLU(g)| a_u (|SiLU'| < 1.1; a_g, a_u the products' allowances) plus the SiLU's
 * own (14 + 4|g|)u |h| (see swigluCheck). Otherwise gate and up come back de-interleaved, each
 * within its product's allowance. 3 guard floats after each output must stay untouched.
 */
export async function gluCase(ctx: GpuContext, c: GluCase): Promise<Check & { applied: boolean }> {
  const { device } = ctx;
  const seed = c.seed ?? 1;
  const { rows, cols } = c;
  const tokens = c.tokens ?? 1;
  const gate = randomWeight(c.dtype, rows, cols, seed);
  const up = randomWeight(c.dtype, rows, cols, seed + 7);
  const t = interleavePairs(gate, up, 'gate_up')!;
  const x = randomFloats(tokens * cols, seed + 1);
  const g = referenceMatmul(dequantize(gate), rows, cols, x, tokens);
  const u = referenceMatmul(dequantize(up), rows, cols, x, tokens);
  const guard = 12345.5;
  const weight = uploadTensor(device, t, { maxBinding: c.maxBinding, rowAlign: 4 });
  const xb = storageBuffer(device, x);
  const [gb, ub] = [0, 1].map(() => storageBuffer(device, new Float32Array(tokens * rows + 3).fill(guard)));
  const step = new StepParams(device);
  step.write({ pos0: 0, nTokens: tokens, step: 0, seed: 0 });
  const out = { y: gb, parts: [{ from: rows, y: ub }], glu: true };
  // A matmul of one token is the matvec.
  const applied = tokens === 1 && c.variant === 'simple';
  try {
    const [gy, uy] = await validated(device, async () => {
      const bound = c.tokens === undefined ? new MatvecKernel(ctx, { variant: c.variant }).bind({ weight, x: xb, ...out }) : new MatmulKernel(ctx, { variant: c.variant }).bind({ weight, x: xb, step: step.buffer, ...out });
      await submit(device, (p) => bound.encode(p, { tokens }));
      bound.destroy();
      return Promise.all([readF32(device, gb, tokens * rows + 3), readF32(device, ub, tokens * rows + 3)]);
    });
    const n = tokens * rows;
    const guardsOk = [...gy.subarray(n), ...uy.subarray(n)].every((v) => v === guard);
    if (!applied) {
      const r = [check(gy.subarray(0, n), g.expected, g.allowance), check(uy.subarray(0, n), u.expected, u.allowance)];
      return { ...r[0], ok: r[0].ok && r[1].ok && guardsOk, worstRatio: Math.max(r[0].worstRatio, r[1].worstRatio), applied };
    }
    const silu = (v: number) => v / (1 + Math.exp(-v));
    const expected = Float64Array.from({ length: n }, (_, i) => silu(g.expected[i]) * u.expected[i]);
    const allowance = expected.map((h, i) => 1.1 * g.allowance[i] * Math.abs(u.expected[i]) + Math.abs(silu(g.expected[i])) * u.allowance[i] + U * (14 + 4 * Math.abs(g.expected[i])) * Math.abs(h));
    const r = check(gy.subarray(0, n), expected, allowance);
    return { ...r, ok: r.ok && guardsOk && uy.subarray(0, n).every((v) => v === guard), applied };
  } finally {
    for (const b of [weight, xb, gb, ub, step]) b.destroy();
  }
}

export function matvecCase(ctx: GpuContext, c: ProductCase): Promise<ProductResult> {
  return productOnTensor(ctx, { ...c, tokens: undefined }, randomWeight(c.dtype, c.rows, c.cols, c.seed ?? 1), true);
}

export function matmulCase(ctx: GpuContext, c: ProductCase): Promise<ProductResult> {
  return productOnTensor(ctx, c, randomWeight(c.dtype, c.rows, c.cols, c.seed ?? 1), false);
}

export interface EmbeddingCase {
  dtype: DType;
  vocab: number;
  cols: number;
  ids: number[];
  maxBinding?: number;
}

/** The gather is exact: every element must equal the dequantized weight bit for bit. */
export async function embeddingCase(ctx: GpuContext, c: EmbeddingCase): Promise<Check & { slices: number }> {
  const { device } = ctx;
  const t = randomWeight(c.dtype, c.vocab, c.cols, 9);
  const w = dequantize(t);
  const expected = new Float32Array(c.ids.length * c.cols);
  c.ids.forEach((id, i) => expected.set(w.subarray(id * c.cols, (id + 1) * c.cols), i * c.cols));
  const weight = uploadTensor(ctx, t, { maxBinding: c.maxBinding });
  const out = storageBuffer(device, new Float32Array(expected.length).fill(NaN));
  const ids = storageBuffer(device, Uint32Array.from(c.ids));
  const step = new StepParams(device);
  step.write({ pos0: 0, nTokens: c.ids.length, step: 0, seed: 0 });
  try {
    const actual = await validated(device, async () => {
      const k = new EmbeddingKernel(ctx).bind({ weight, ids, out, step: step.buffer });
      await submit(device, (p) => k.encode(p, { tokens: c.ids.length }));
      k.destroy();
      return readF32(device, out, expected.length);
    });
    return { ...check(actual, expected, new Float64Array(expected.length)), slices: weight.slices.length };
  } finally {
    for (const b of [out, ids, weight, step]) b.destroy();
  }
}

/** The GPU layout of docs/gpu-kernels.md, built independently of src/gpu/weights.ts. */
export function expectedLayout(t: Tensor, r0: number, r1: number): { data: Uint8Array; scales: Uint8Array | null } {
  const [, cols] = t.shape;
  if (t.dtype === 'q8_0' || t.dtype === 'q4_0') {
    const bb = t.dtype === 'q8_0' ? 34 : 18;
    const perRow = cols / 32;
    const blocks = (r1 - r0) * perRow;
    const data = new Uint8Array(blocks * (bb - 2));
    const scales = new Uint8Array(blocks * 2);
    for (let b = 0; b < blocks; b++) {
      const o = (r0 * perRow + b) * bb;
      scales[2 * b] = t.data[o];
      scales[2 * b + 1] = t.data[o + 1];
      for (let j = 2; j < bb; j++) data[b * (bb - 2) + j - 2] = t.data[o + j];
    }
    if (t.dtype === 'q4_0') return { data, scales };
    // Q8_0: rows grouped by 8, by 4-byte words (quants) and 2-byte halves (scales).
    return { data: grouped(data, r1 - r0, cols, 4), scales: grouped(scales, r1 - r0, perRow * 2, 2) };
  }
  // Whole blocks at word-aligned slots: [block bytes, slot bytes, zero bytes before the block].
  const whole = { q4_1: [20, 20, 0], q5_0: [22, 24, 2], q5_1: [24, 24, 0], q4_k: [144, 144, 0], q5_k: [176, 176, 0], q6_k: [210, 212, 0] } as Record<string, number[]>;
  if (whole[t.dtype]) {
    const [bb, slot, pad] = whole[t.dtype];
    const perRow = cols / (t.dtype.endsWith('_k') ? 256 : 32);
    const blocks = (r1 - r0) * perRow;
    const data = new Uint8Array(blocks * slot);
    for (let b = 0; b < blocks; b++) data.set(t.data.subarray((r0 * perRow + b) * bb, (r0 * perRow + b + 1) * bb), b * slot + pad);
    return { data, scales: null };
  }
  const eb = t.dtype === 'f32' ? 4 : 2;
  const rowMajor = t.data.slice(r0 * cols * eb, r1 * cols * eb);
  if (t.dtype !== 'f16') return { data: rowMajor, scales: null };
  // F16: rows padded to whole 4-column chunks of 8 bytes, grouped by 8 rows by chunk.
  const chunks = Math.ceil(cols / 4);
  const padded = new Uint8Array((r1 - r0) * chunks * 8);
  for (let r = 0; r < r1 - r0; r++) padded.set(rowMajor.subarray(r * cols * 2, (r + 1) * cols * 2), r * chunks * 8);
  return { data: grouped(padded, r1 - r0, chunks * 8, 8), scales: null };
}

/**
 * docs/gpu-kernels.md's grouped layout of a row-major [rows, rowBytes] buffer: rows padded to a
 * multiple of 8, then for each group of 8 rows and each `unit`-byte chunk k, the chunk k of the 8 rows.
 */
function grouped(rowMajor: Uint8Array, rows: number, rowBytes: number, unit: number): Uint8Array {
  const out = new Uint8Array(Math.ceil(rows / 8) * 8 * rowBytes);
  for (let r = 0; r < rows; r++)
    for (let k = 0; k < rowBytes / unit; k++)
      for (let b = 0; b < unit; b++) out[((Math.floor(r / 8) * (rowBytes / unit) + k) * 8 + (r % 8)) * unit + b] = rowMajor[r * rowBytes + k * unit + b];
  return out;
}

export interface UploadCase {
  dtype: DType;
  rows: number;
  cols: number;
  maxBinding?: number;
}

export interface UploadResult {
  slices: { rowStart: number; rows: number; dataBytes: number; scalesBytes: number }[];
  rowsPerSlice: number;
  bytes: number;
  /** Every slice's buffers hold exactly the expected layout (the padding is zero). */
  layoutOk: boolean;
  /** Using a buffer after destroy() is a validation error. */
  destroyedOk: boolean;
}

export async function uploadCase(ctx: GpuContext, c: UploadCase): Promise<UploadResult> {
  const { device } = ctx;
  const t = randomWeight(c.dtype, c.rows, c.cols, 3);
  const g = uploadTensor(ctx, t, { maxBinding: c.maxBinding });
  let layoutOk = true;
  const same = (buf: GPUBuffer, want: Uint8Array, got: Uint8Array) => {
    if (got.length !== buf.size) return false;
    for (let i = 0; i < got.length; i++) if (got[i] !== (i < want.length ? want[i] : 0)) return false;
    return true;
  };
  for (const s of g.slices) {
    const want = expectedLayout(t, s.rowStart, s.rowStart + s.rows);
    layoutOk &&= same(s.data, want.data, new Uint8Array(await readBuffer(device, s.data)));
    if (want.scales) layoutOk &&= !!s.scales && same(s.scales, want.scales, new Uint8Array(await readBuffer(device, s.scales)));
    else layoutOk &&= s.scales === null;
  }
  const slices = g.slices.map((s) => ({ rowStart: s.rowStart, rows: s.rows, dataBytes: s.data.size, scalesBytes: s.scales?.size ?? 0 }));
  const first = g.slices[0].data;
  g.destroy();
  device.pushErrorScope('validation');
  const probe = device.createBuffer({ size: 16, usage: GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(first, 0, probe, 0, 16);
  device.queue.submit([enc.finish()]);
  const err = await device.popErrorScope();
  probe.destroy();
  return { slices, rowsPerSlice: g.rowsPerSlice, bytes: g.bytes, layoutOk, destroyedOk: err !== null };
}

/** What the page's device offers (which paths a browser run really exercised). */
export function deviceFeatures(ctx: GpuContext): { hasF16: boolean; hasSubgroups: boolean; isFallback: boolean } {
  return { hasF16: ctx.info.hasF16, hasSubgroups: ctx.info.hasSubgroups, isFallback: ctx.info.isFallback };
}
