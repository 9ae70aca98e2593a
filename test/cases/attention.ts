/** Paged-cache append + GQA attention on the GPU vs the CPU slot tables, over several steps. */
import type { GpuContext } from '../../src/gpu/device';
import { GpuKvCache } from '../../src/kv/paged-cache';
import { KvAppendKernel } from '../../src/gpu/kv_append';
import { AttentionKernel, attentionScratch } from '../../src/gpu/attention';
import { StepParams } from '../../src/gpu/step-params';
import { readF32, storageBuffer } from '../../src/gpu/buffers';
import { HeadSlots } from '../../src/cpu/kv-cache';
import { attendGroup } from '../../src/cpu/attention';
import { compare, randomFloats, rng } from './random';

export interface AttentionCase {
  headDim: number;
  numHeads: number;
  numKvHeads: number;
  /** Tokens per call: e.g. [17, 1, 1, 3] is a prefill chunk then decode steps. */
  chunks: number[];
  window?: number | null;
  /** After this many calls, free a slot per head and let the next token reuse it. */
  freeAfter?: number;
  shufflePages?: boolean;
  pageSize?: number;
}

export async function attentionCase(ctx: GpuContext, c: AttentionCase) {
  const { device } = ctx;
  const hd = c.headDim;
  const group = c.numHeads / c.numKvHeads;
  const total = c.chunks.reduce((a, b) => a + b, 0);
  const maxT = Math.max(...c.chunks);
  const cache = new GpuKvCache(device, { numLayers: 1, numKvHeads: c.numKvHeads, headDim: hd, capacity: total, pageSize: c.pageSize ?? 4 });
  if (c.shufflePages) {
    const r = rng(11);
    const pages = Array.from({ length: cache.pagesPerHead * c.numKvHeads }, (_, i) => i).sort(() => r() - 0.5);
    for (let h = 0; h < c.numKvHeads; h++) cache.setPageTable(0, h, pages.slice(h * cache.pagesPerHead, (h + 1) * cache.pagesPerHead));
  }
  const cpu = Array.from({ length: c.numKvHeads }, () => new HeadSlots(hd, 4));
  const kb = storageBuffer(device, maxT * c.numKvHeads * hd * 4);
  const vb = storageBuffer(device, maxT * c.numKvHeads * hd * 4);
  const qb = storageBuffer(device, maxT * c.numHeads * hd * 4);
  const out = storageBuffer(device, maxT * c.numHeads * hd * 4);
  const step = new StepParams(device);
  const append = new KvAppendKernel(device).bind({ k: kb, v: vb, cache, layer: 0, step: step.buffer });
  const attention = new AttentionKernel(device).bind({ q: qb, out, cache, layer: 0, scratch: attentionScratch(device, cache, c.numHeads, maxT), step: step.buffer }, { numHeads: c.numHeads, slidingWindow: c.window ?? null });

  let pos = 0;
  let worstOut = 0;
  let outOk = true;
  for (let call = 0; call < c.chunks.length; call++) {
    const T = c.chunks[call];
    if (c.freeAfter !== undefined && call === c.freeAfter) {
      // What an eviction policy does: free one slot per head; the next token goes there.
      for (let h = 0; h < c.numKvHeads; h++) {
        const victim = 1 + h;
        cpu[h].free(victim);
        await cache.freeSlots(0, h, [victim]);
      }
    }
    const k = randomFloats(T * c.numKvHeads * hd, 100 + call);
    const v = randomFloats(T * c.numKvHeads * hd, 200 + call);
    const q = randomFloats(T * c.numHeads * hd, 300 + call, 2);
    device.queue.writeBuffer(kb, 0, k);
    device.queue.writeBuffer(vb, 0, v);
    device.queue.writeBuffer(qb, 0, q);
    step.write({ pos0: pos, nTokens: T, step: 0, seed: 0 });
    cache.highWater += T;
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    append.encode(pass, { tokens: T });
    attention.encode(pass, { tokens: T, slots: Math.min(cache.highWater, cache.maxSlots) });
    pass.end();
    device.queue.submit([enc.finish()]);

    const expected = new Float32Array(T * c.numHeads * hd);
    for (let h = 0; h < c.numKvHeads; h++) for (let t = 0; t < T; t++) cpu[h].append(k.subarray((t * c.numKvHeads + h) * hd, (t * c.numKvHeads + h + 1) * hd), v.subarray((t * c.numKvHeads + h) * hd, (t * c.numKvHeads + h + 1) * hd), pos + t);
    for (let t = 0; t < T; t++)
      for (let h = 0; h < c.numKvHeads; h++) {
        const off = (t * c.numHeads + h * group) * hd;
        attendGroup(cpu[h], q.subarray(off, off + group * hd), expected.subarray(off, off + group * hd), group, pos + t, c.window ?? null);
      }
    const cmp = compare(await readF32(device, out, expected.length), expected, 1e-5, 1e-4);
    worstOut = Math.max(worstOut, cmp.maxAbs);
    outOk &&= cmp.ok;
    pos += T;
  }

  // Slot tables, positions and cumulative scores must match slot for slot.
  let tablesEqual = true;
  let worstScore = 0;
  for (let h = 0; h < c.numKvHeads; h++) {
    const g = await cache.readHead(0, h);
    for (let s = 0; s < cpu[h].capacity && s < cache.maxSlots; s++) {
      const cp = cpu[h].pos[s];
      if (cp !== (s < g.numSlots ? g.pos[s] : -1)) tablesEqual = false;
      if (cp < 0) continue;
      worstScore = Math.max(worstScore, Math.abs(g.score[s] - cpu[h].score[s]) / Math.max(1, cpu[h].score[s]));
      for (let i = 0; i < hd; i++) if (g.keys[s * hd + i] !== cpu[h].keys[s * hd + i] || g.values[s * hd + i] !== cpu[h].values[s * hd + i]) tablesEqual = false;
    }
  }
  const bytes = cache.bytes();
  cache.destroy();
  return { outOk, worstOut, tablesEqual, worstScore, bytes };
}
