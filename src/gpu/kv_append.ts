/** Wrapper of shaders/kv_append.wgsl: stores the step's K/V in the paged cache of one layer. */
import type { GpuKvCache } from '../kv/paged-cache';
import { bindGroup, computePipeline, type BoundKernel } from './pipelines';
import { uniformBuffer } from './buffers';

export function kvCacheParams(cache: GpuKvCache): number[] {
  return [cache.o.numKvHeads, cache.o.headDim, cache.pageSize, cache.pagesPerHead, cache.maxSlots, cache.pageTableOffset, cache.slotPosOffset, cache.freeListOffset];
}

export class KvAppendKernel {
  constructor(private readonly device: GPUDevice) {}

  bind(b: { k: GPUBuffer; v: GPUBuffer; cache: GpuKvCache; layer: number; step: GPUBuffer }): BoundKernel {
    const L = b.cache.layers[b.layer];
    const params = uniformBuffer(this.device, new Uint32Array(kvCacheParams(b.cache)));
    const append = computePipeline(this.device, ['kv_append'], 'append');
    const advance = computePipeline(this.device, ['kv_append'], 'advance');
    const appendGroup = bindGroup(this.device, append, { 0: params, 1: b.step, 2: b.k, 3: b.v, 4: L.k, 5: L.v, 6: L.index, 7: L.score }, 'kv append');
    const advanceGroup = bindGroup(this.device, advance, { 0: params, 1: b.step, 6: L.index }, 'kv advance');
    const { numKvHeads, headDim } = b.cache.o;
    return {
      encode(pass, dynamic = {}) {
        pass.setPipeline(append);
        pass.setBindGroup(0, appendGroup);
        pass.dispatchWorkgroups(Math.ceil((numKvHeads * headDim) / 64), dynamic.tokens ?? 1);
        pass.setPipeline(advance);
        pass.setBindGroup(0, advanceGroup);
        pass.dispatchWorkgroups(Math.ceil(numKvHeads / 64));
      },
    };
  }
}
