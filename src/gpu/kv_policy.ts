/** Wrapper of shaders/kv_policy.wgsl for one layer: victim selection, similarity, tau, merge, release, variance. */
import type { GpuKvCache, SlotBuffer } from './kv-cache';
import { bindGroup, computePipeline, type BoundKernel } from './pipelines';
import { uniformBuffer } from './buffers';
import { kvCacheParams, kvStorage } from './kv_append';

export interface KvPolicyBuffers {
  /** Policy uniform: hh, recent, flags, numHeads, alpha, beta, colsumLength. */
  policy: GPUBuffer;
  /** Per KV head: the step's victim count and victims (rows of maxVictims + 1). */
  victims: SlotBuffer;
  /** Per KV head and victim: (max cosine, most similar kept slot). */
  sims: SlotBuffer;
  state: GPUBuffer;
  /** Per query head, the column sums of the prompt's first chunk, by slot. */
  colsum: SlotBuffer;
  variances: GPUBuffer;
  /** Per slot, the evicted tokens merged into it. */
  absorbed: SlotBuffer;
}

export class KvPolicyKernel {
  constructor(private readonly device: GPUDevice) {}

  bind(b: { cache: GpuKvCache; layer: number; step: GPUBuffer; buffers: KvPolicyBuffers }): BoundKernel & { encodeVariance(pass: GPUComputePassEncoder): void } {
    const { cache } = b;
    const B = b.buffers;
    // The geometry changes when the cache's tables grow: rewritten at each bind.
    const geometry = () => new Uint32Array([...kvCacheParams(cache), B.victims.rowSlots - 1, B.colsum.rowSlots, 0, 0]);
    const params = uniformBuffer(this.device, geometry(), 'kv policy params');
    const uses: Record<string, number[]> = {
      select_victims: [0, 1, 2, 5, 6, 7],
      similarity: [0, 3, 5, 6, 7, 8],
      threshold: [0, 2, 7, 8, 9],
      merge: [0, 2, 3, 4, 5, 6, 7, 8, 9, 12],
      release: [0, 5, 6, 7, 12],
      variance: [0, 2, 10, 11],
    };
    const { shaders, prelude } = kvStorage(cache, 'kv_policy');
    const stages = Object.keys(uses).map((entry) => ({ entry, pipeline: computePipeline(this.device, shaders, entry, prelude), group: null as unknown as GPUBindGroup }));
    // The pools are replaced when the cache grows: bind groups follow its version.
    let version = -1;
    const rebind = () => {
      this.device.queue.writeBuffer(params, 0, geometry());
      const L = cache.layers[b.layer];
      const all: Record<number, GPUBuffer> = { 0: params, 1: b.step, 2: B.policy, 3: L.k, 4: L.v, 5: L.index, 6: L.score, 7: B.victims.buffer!, 8: B.sims.buffer!, 9: B.state, 10: B.colsum.buffer!, 11: B.variances, 12: B.absorbed.buffer! };
      for (const s of stages) s.group = bindGroup(this.device, s.pipeline, Object.fromEntries(uses[s.entry].map((i) => [i, all[i]])), `kv policy ${s.entry}`);
      version = cache.version;
    };
    const [select, similarity, threshold, merge, release, variance] = stages;
    const { numKvHeads } = cache.o;
    const run = (pass: GPUComputePassEncoder, s: { pipeline: GPUComputePipeline; group: GPUBindGroup }, x: number, y = 1) => {
      pass.setPipeline(s.pipeline);
      pass.setBindGroup(0, s.group);
      pass.dispatchWorkgroups(x, y);
    };
    return {
      /** dynamic.slots: an upper bound of the used slots (victims are at most that many). */
      encode(pass, dynamic = {}) {
        if (version !== cache.version) rebind();
        const slots = Math.max(1, Math.min(dynamic.slots ?? cache.maxSlots, cache.maxSlots));
        run(pass, select, Math.ceil(numKvHeads / 64));
        run(pass, similarity, Math.ceil(slots / 64), numKvHeads);
        run(pass, threshold, 1);
        run(pass, merge, Math.ceil(slots / 64), numKvHeads);
        run(pass, release, Math.ceil(numKvHeads / 64));
      },
      encodeVariance(pass) {
        if (version !== cache.version) rebind();
        run(pass, variance, Math.ceil(cache.maxSlots / 64));
      },
    };
  }
}
