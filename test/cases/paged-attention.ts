/**
 * Paged KV cache + GQA attention on the GPU vs the CPU slot tables (src/cpu/attention.ts), over
 * several calls: a history written straight into the cache (with freed slots in the middle), then
 * prefill chunks / decode steps through kv_append + attention, optionally freeing a slot per head
 * before each call as an eviction policy does, so later tokens reuse slots in place. Shared by the
 * Node (test/gpu-node) and Chromium (test/browser) routes: plain data in, plain data out.
 */
import type { GpuContext } from '../../src/gpu/device';
import type { KernelVariant } from '../../src/gpu/variant';
import { GpuKvCache } from '../../src/gpu/kv-cache';
import { KvAppendKernel } from '../../src/gpu/kv_append';
import { AttentionKernel, attentionScratch } from '../../src/gpu/attention';
import { StepParams } from '../../src/gpu/step-params';
import { readF32, storageBuffer } from '../../src/gpu/buffers';
import { HeadSlots } from '../../src/cpu/kv-cache';
import { attendChunk } from '../../src/cpu/attention';
import { compare, randomFloats, rng } from './random';
import { freeSlots, readHead, writeHead } from '../helpers/kv-cache';

export interface PagedAttentionCase {
  variant: KernelVariant;
  headDim: number;
  numHeads: number;
  numKvHeads: number;
  /** Tokens per call after the history: [17, 1, 3] is a prefill chunk, a decode step, a chunk. */
  chunks: number[];
  /** Tokens already cached (positions 0..history-1), written directly with `writeHead`. */
  history?: number;
  /** Slots of the history freed (pos -1, seeded choice per head): the next tokens reuse them. */
  holes?: number;
  window?: number | null;
  pageSize?: number;
  /** Physical pages handed out in a seeded random order. */
  pageSeed?: number;
  /** Before every call but the first, free one live slot per head (seeded), as a policy does. */
  freeBetween?: boolean;
  /** Gather per-head column sums during the first call (the first prefill). */
  colsum?: boolean;
  /** Slots per head the pools start with (they grow on demand); default: the capacity. */
  initialSlots?: number;
  /** Slots per head; default: history + every call's tokens. */
  capacity?: number;
  seed?: number;
}

export interface PagedAttentionResult {
  variant: KernelVariant;
  outOk: boolean;
  worstOut: number;
  /** Positions, numSlots and the free list equal the CPU's slot tables; K/V bit-equal. */
  tablesEqual: boolean;
  kvEqual: boolean;
  worstScore: number;
  worstColsum: number;
  /** cache.bytes() after each call. */
  bytes: number[];
  /** Times the pools were reallocated. */
  growths: number;
  /** The other layer was never touched. */
  otherLayerEmpty: boolean;
  maxSlots: number;
}

/** Tolerances (the reasoning is in test/gpu-node/attention.test.ts). */
export const OUT_ATOL = 1e-5;
export const OUT_RTOL = 1e-4;
export const SCORE_RTOL = 1e-5;

/** What is wrong with a result (empty when it matches the CPU reference). */
export function failures(r: PagedAttentionResult): string[] {
  const f: string[] = [];
  if (!r.outOk) f.push(`outputs differ (worst |error| ${r.worstOut})`);
  if (!r.tablesEqual) f.push('slot tables differ');
  if (!r.kvEqual) f.push('cached K/V differ');
  if (!(r.worstScore <= SCORE_RTOL)) f.push(`scores differ (worst relative error ${r.worstScore})`);
  if (!(r.worstColsum <= SCORE_RTOL)) f.push(`column sums differ (worst relative error ${r.worstColsum})`);
  if (!r.otherLayerEmpty) f.push('another layer was written');
  return f;
}

export async function pagedAttentionCase(ctx: GpuContext, c: PagedAttentionCase): Promise<PagedAttentionResult> {
  const { device } = ctx;
  const hd = c.headDim;
  const H = c.numHeads;
  const Hkv = c.numKvHeads;
  const history = c.history ?? 0;
  const total = c.chunks.reduce((a, b) => a + b, 0);
  const maxT = Math.max(...c.chunks);
  const layer = 1;
  const r = rng(c.seed ?? 7);
  const cache = new GpuKvCache(device, {
    numLayers: 2,
    numKvHeads: Hkv,
    headDim: hd,
    capacity: c.capacity ?? Math.max(1, history + total),
    pageSize: c.pageSize ?? 4,
    pageSeed: c.pageSeed,
    initialSlots: c.initialSlots,
  });
  const cpu = Array.from({ length: Hkv }, () => new HeadSlots(hd, Math.max(16, history)));

  // The history: random K/V and scores, some slots freed.
  if (history > 0)
    for (let h = 0; h < Hkv; h++) {
      const slots = cpu[h];
      slots.keys.set(randomFloats(history * hd, 1000 + h));
      slots.values.set(randomFloats(history * hd, 2000 + h));
      for (let s = 0; s < history; s++) {
        slots.pos[s] = s;
        slots.score[s] = r() * 5;
      }
      for (let i = 0; i < (c.holes ?? 0); i++) slots.free(Math.floor(r() * history));
      writeHead(cache, layer, h, {
        pos: slots.pos.subarray(0, history),
        keys: slots.keys.subarray(0, history * hd),
        values: slots.values.subarray(0, history * hd),
        score: slots.score.subarray(0, history),
      });
    }

  const kb = storageBuffer(device, maxT * Hkv * hd * 4);
  const vb = storageBuffer(device, maxT * Hkv * hd * 4);
  const qb = storageBuffer(device, maxT * H * hd * 4);
  const out = storageBuffer(device, maxT * H * hd * 4);
  const colsumBuf = c.colsum ? storageBuffer(device, H * cache.maxSlots * 4) : undefined;
  const step = new StepParams(device);
  const scratch = attentionScratch(device, cache, H, maxT, c.variant);
  const append = new KvAppendKernel(ctx).bind({ k: kb, v: vb, cache, layer, step: step.buffer });
  const attention = new AttentionKernel(ctx, { variant: c.variant }).bind({ q: qb, out, cache, layer, scratch, step: step.buffer, colsum: colsumBuf }, { numHeads: H, slidingWindow: c.window ?? null });
  let growths = 0;
  cache.onGrow(() => growths++);
  cache.highWater = Math.max(cache.highWater, history);
  const colsumCpu: number[][] | undefined = c.colsum ? Array.from({ length: H }, () => []) : undefined;

  let pos = history;
  let worstOut = 0;
  let outOk = true;
  const bytes: number[] = [];
  for (let call = 0; call < c.chunks.length; call++) {
    const T = c.chunks[call];
    if (c.freeBetween && call > 0)
      for (let h = 0; h < Hkv; h++) {
        const live = cpu[h].occupied();
        const victim = live[Math.floor(r() * live.length)];
        cpu[h].free(victim);
        await freeSlots(cache, layer, h, [victim]);
      }
    const k = randomFloats(T * Hkv * hd, 100 + call);
    const v = randomFloats(T * Hkv * hd, 200 + call);
    const q = randomFloats(T * H * hd, 300 + call, 2);
    device.queue.writeBuffer(kb, 0, k);
    device.queue.writeBuffer(vb, 0, v);
    device.queue.writeBuffer(qb, 0, q);
    step.write({ pos0: pos, nTokens: T, step: 0, seed: 0 });
    cache.highWater += T;
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    append.encode(pass, { tokens: T });
    attention.encode(pass, { tokens: T, slots: Math.min(cache.highWater, cache.maxSlots), colsum: c.colsum && call === 0 ? 1 : 0 });
    pass.end();
    device.queue.submit([enc.finish()]);
    bytes.push(cache.bytes());

    const expected = new Float32Array(T * H * hd);
    for (let t = 0; t < T; t++)
      for (let h = 0; h < Hkv; h++) {
        const at = (t * Hkv + h) * hd;
        cpu[h].append(k.subarray(at, at + hd), v.subarray(at, at + hd), pos + t);
      }
    attendChunk(cpu, q, expected, { numHeads: H, tokens: T, pos0: pos, slidingWindow: c.window ?? null, colsum: call === 0 ? colsumCpu : undefined });
    const cmp = compare(await readF32(device, out, expected.length), expected, OUT_ATOL, OUT_RTOL);
    worstOut = Math.max(worstOut, cmp.maxAbs);
    outOk &&= cmp.ok;
    pos += T;
  }

  // Slot tables, K/V and cumulative scores must match slot for slot.
  let tablesEqual = true;
  let kvEqual = true;
  let worstScore = 0;
  let worstColsum = 0;
  const colsumGpu = colsumBuf ? await readF32(device, colsumBuf) : null;
  for (let h = 0; h < Hkv; h++) {
    const g = await readHead(cache, layer, h);
    const slots = cpu[h];
    let cpuHigh = 0;
    for (let s = 0; s < slots.capacity; s++) if (slots.pos[s] >= 0) cpuHigh = s + 1;
    const cpuFree: number[] = [];
    for (let s = cpuHigh - 1; s >= 0; s--) if (slots.pos[s] < 0) cpuFree.push(s);
    // The GPU's numSlots is a high-water mark: it may sit above the CPU's last live slot only by
    // freed slots, which are then on its free list.
    const gpuFree = g.freeSlots.filter((s) => s < cpuHigh);
    if (g.numSlots < cpuHigh || JSON.stringify(gpuFree) !== JSON.stringify(cpuFree)) tablesEqual = false;
    for (let s = 0; s < Math.max(slots.capacity, g.numSlots); s++) {
      const cp = s < slots.capacity ? slots.pos[s] : -1;
      const gp = s < g.numSlots ? g.pos[s] : -1;
      if (cp !== gp) tablesEqual = false;
      if (cp < 0) continue;
      worstScore = Math.max(worstScore, Math.abs(g.score[s] - slots.score[s]) / Math.max(1, slots.score[s]));
      for (let i = 0; i < hd; i++) if (g.keys[s * hd + i] !== slots.keys[s * hd + i] || g.values[s * hd + i] !== slots.values[s * hd + i]) kvEqual = false;
      if (colsumGpu && colsumCpu)
        for (let gi = 0; gi < H / Hkv; gi++) {
          const head = h * (H / Hkv) + gi;
          const e = colsumCpu[head][cp] ?? 0;
          worstColsum = Math.max(worstColsum, Math.abs(colsumGpu[head * cache.maxSlots + s] - e) / Math.max(1, e));
        }
    }
  }
  const other = await readHead(cache, 0, 0);
  const otherLayerEmpty = other.numSlots === 0 && other.freeSlots.length === 0 && other.pos.every((p) => p === -1);
  const result: PagedAttentionResult = { variant: c.variant, outOk, worstOut, tablesEqual, kvEqual, worstScore, worstColsum, bytes, growths, otherLayerEmpty, maxSlots: cache.maxSlots };
  cache.destroy();
  for (const b of [kb, vb, qb, out, scratch, colsumBuf]) b?.destroy();
  step.destroy();
  return result;
}
