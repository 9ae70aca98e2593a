/** Wrapper of shaders/attention.wgsl: GQA attention over one layer's paged cache, with score accumulation. */
import type { GpuKvCache } from '../kv/paged-cache';
import { bindGroup, computePipeline, type BoundKernel } from './pipelines';
import { uniformBuffer } from './buffers';
import { kvCacheParams } from './kv_append';

export interface AttentionScratch {
  logits: GPUBuffer;
  stats: GPUBuffer;
}

/** Scratch for `maxTokens` queries over the cache; shared by all layers (they run one after another). */
export function attentionScratch(device: GPUDevice, cache: GpuKvCache, numHeads: number, maxTokens: number): AttentionScratch {
  const usage = GPUBufferUsage.STORAGE;
  return {
    logits: device.createBuffer({ label: 'attention logits', size: maxTokens * numHeads * cache.maxSlots * 4, usage }),
    stats: device.createBuffer({ label: 'attention stats', size: maxTokens * numHeads * 8, usage }),
  };
}

export class AttentionKernel {
  constructor(private readonly device: GPUDevice) {}

  bind(
    b: { q: GPUBuffer; out: GPUBuffer; cache: GpuKvCache; layer: number; scratch: AttentionScratch; step: GPUBuffer; colsum?: GPUBuffer },
    o: { numHeads: number; slidingWindow: number | null },
  ): BoundKernel {
    const { cache } = b;
    const L = cache.layers[b.layer];
    const [numKvHeads, headDim, pageSize, pagesPerHead, maxSlots, pageTableOffset, slotPosOffset] = kvCacheParams(cache);
    const raw = new ArrayBuffer(48);
    new Uint32Array(raw).set([o.numHeads, numKvHeads, headDim, pageSize, pagesPerHead, maxSlots, pageTableOffset, slotPosOffset, o.slidingWindow ?? 0]);
    new Float32Array(raw)[9] = 1 / Math.sqrt(headDim);
    const params = uniformBuffer(this.device, new Uint8Array(raw));
    const all: Record<number, GPUBuffer> = { 0: params, 1: b.step, 2: b.q, 3: b.out, 4: L.k, 5: L.v, 6: L.index, 7: L.score, 8: b.scratch.logits, 9: b.scratch.stats };
    if (b.colsum) all[10] = b.colsum;
    const uses: Record<string, number[]> = {
      scores: [0, 1, 2, 4, 6, 8],
      softmax_stats: [0, 1, 6, 8, 9],
      weighted_sum: [0, 1, 3, 5, 6, 8, 9],
      accumulate: [0, 1, 6, 7, 8, 9],
      colsum: [0, 1, 6, 8, 9, 10],
    };
    const stage = (entry: string) => {
      const pipeline = computePipeline(this.device, ['attention'], entry);
      const buffers = Object.fromEntries(uses[entry].map((i) => [i, all[i]]));
      return { pipeline, group: bindGroup(this.device, pipeline, buffers, `attention ${entry}`) };
    };
    const [scores, stats, sum, accumulate] = ['scores', 'softmax_stats', 'weighted_sum', 'accumulate'].map(stage);
    const colsum = b.colsum ? stage('colsum') : null;
    const numHeads = o.numHeads;
    return {
      /** dynamic: tokens (T), slots (an upper bound of the used slots), colsum (1 during the first prefill). */
      encode(pass, dynamic = {}) {
        const T = dynamic.tokens ?? 1;
        const slots = Math.max(1, dynamic.slots ?? maxSlots);
        const run = (s: { pipeline: GPUComputePipeline; group: GPUBindGroup }, x: number, y = 1, z = 1) => {
          pass.setPipeline(s.pipeline);
          pass.setBindGroup(0, s.group);
          pass.dispatchWorkgroups(x, y, z);
        };
        run(scores, Math.ceil(slots / 64), numKvHeads, T);
        run(stats, Math.ceil((T * numHeads) / 64));
        run(sum, Math.ceil(headDim / 64), numKvHeads, T);
        run(accumulate, Math.ceil(slots / 64), numKvHeads);
        if (colsum && dynamic.colsum) run(colsum, Math.ceil(slots / 64), numHeads);
      },
    };
  }
}
