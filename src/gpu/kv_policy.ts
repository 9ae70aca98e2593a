/** Wrapper of shaders/kv_policy.wgsl for one layer: victim selection, similarity, tau, merge, release, variance. */
import type { GpuKvCache, SlotBuffer } from './kv-cache';
import { deviceOf, type GpuTarget } from './device';
import { KV_LAYOUT, kvLayout } from './kv-cache';
import { bindGroup, computePipeline, type BoundKernel } from './pipelines';
import { kvStorage } from './kv_append';
import { uniformStruct } from './uniforms';

/** A layer's policy settings (flags: 1 compress, 2 streaming, 4 merge, 8 merge decided on the mean over heads); `hh + recent` is its budget. */
export const POLICY_PARAMS = uniformStruct('Policy', { hh: 'u32', recent: 'u32', flags: 'u32', numHeads: 'u32', alpha: 'f32', beta: 'f32', promptLength: 'u32' });
/** Row strides of the policy's per-slot buffers (they grow with the cache). */
const POLICY_ROWS = uniformStruct('PolicyRows', { maxVictims: 'u32', colsumStride: 'u32' });

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
  readonly device: GPUDevice;

  constructor(ctx: GpuTarget) {
    this.device = deviceOf(ctx);
  }

  bind(b: { cache: GpuKvCache; layer: number; step: GPUBuffer; buffers: KvPolicyBuffers }): BoundKernel & { encodeVariance(pass: GPUComputePassEncoder): void } {
    const { cache } = b;
    const B = b.buffers;
    // The geometry changes when the cache's tables grow: rewritten at each bind.
    const rowsOf = () => ({ maxVictims: B.victims.rowSlots - 1, colsumStride: B.colsum.rowSlots });
    const layout = KV_LAYOUT.create(this.device, kvLayout(cache), 'kv policy layout');
    const rows = POLICY_ROWS.create(this.device, rowsOf(), 'kv policy rows');
    const uses: Record<string, number[]> = {
      select_victims: [0, 1, 2, 5, 6, 7, 13],
      similarity: [0, 3, 5, 6, 7, 8, 13],
      threshold: [0, 2, 7, 8, 9, 13],
      merge: [0, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13],
      release: [0, 5, 6, 7, 12, 13],
      variance: [2, 10, 11, 13],
    };
    const { shaders, prelude } = kvStorage(cache, 'kv_policy', [POLICY_PARAMS, POLICY_ROWS]);
    const stages = Object.keys(uses).map((entry) => ({ entry, pipeline: computePipeline(this.device, shaders, entry, prelude), group: null as unknown as GPUBindGroup }));
    // The pools are replaced when the cache grows: bind groups follow its version.
    let version = -1;
    const rebind = () => {
      KV_LAYOUT.write(this.device, layout, kvLayout(cache));
      POLICY_ROWS.write(this.device, rows, rowsOf());
      const L = cache.layers[b.layer];
      const all: Record<number, GPUBuffer> = { 13: rows, 0: layout, 1: b.step, 2: B.policy, 3: L.k, 4: L.v, 5: L.index, 6: L.score, 7: B.victims.buffer!, 8: B.sims.buffer!, 9: B.state, 10: B.colsum.buffer!, 11: B.variances, 12: B.absorbed.buffer! };
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
      destroy() {
        layout.destroy();
        rows.destroy();
      },
    };
  }
}
