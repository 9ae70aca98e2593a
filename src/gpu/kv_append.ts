/**
 * Wrapper of shaders/kv_append.wgsl: stores the step's post-RoPE K/V [T, numKvHeads, headDim] in one
 * layer's paged cache (slot rules in src/gpu/kv-cache.ts). Barrier-free on every adapter: it is a
 * copy, so there is a single variant.
 */
import type { GpuContext } from './device';
import type { GpuKvCache } from './kv-cache';
import { bindGroup, computePipeline, type BoundKernel } from './pipelines';
import { uniformBuffer } from './buffers';

/** The cache geometry uniform shared by kv_append.wgsl and kv_policy.wgsl (8 u32). */
export function kvCacheParams(cache: GpuKvCache): number[] {
  return [cache.o.numKvHeads, cache.o.headDim, cache.pageSize, cache.pagesPerHead, cache.maxSlots, cache.pageTableOffset, cache.slotPosOffset, cache.freeListOffset];
}

/**
 * A kernel that touches the pools, with the cache's storage in front of it (shaders/kv_<storage>.wgsl)
 * and the `enable` directives that storage needs opening the module.
 */
export function kvStorage(cache: GpuKvCache, kernel: string, consts = ''): { shaders: string[]; prelude: string } {
  const { shader, enables } = cache.kvShader;
  return { shaders: [shader, kernel], prelude: enables.map((e) => `enable ${e};\n`).join('') + consts };
}

export interface KvAppendBuffers {
  /** This step's keys and values, [T, numKvHeads, headDim] f32. */
  k: GPUBuffer;
  v: GPUBuffer;
  cache: GpuKvCache;
  layer: number;
  /** The shared StepParams uniform: pos0 and nTokens. */
  step: GPUBuffer;
}

export class KvAppendKernel {
  private readonly device: GPUDevice;

  constructor(ctx: GpuContext | GPUDevice) {
    this.device = (ctx as GpuContext).info !== undefined && (ctx as GpuContext).device !== undefined ? (ctx as GpuContext).device : (ctx as GPUDevice);
  }

  /** `encode(pass, { tokens })`: tokens is the step's T (an upper bound is enough). */
  bind(b: KvAppendBuffers): BoundKernel {
    const { device } = this;
    const { cache } = b;
    // The geometry changes when the cache's tables grow: rewritten at each bind.
    const params = uniformBuffer(device, new Uint32Array(kvCacheParams(cache)), 'kv append params');
    const { shaders, prelude } = kvStorage(cache, 'kv_append');
    const append = computePipeline(device, shaders, 'append', prelude);
    const advance = computePipeline(device, shaders, 'advance', prelude);
    let version = -1;
    let appendGroup: GPUBindGroup;
    let advanceGroup: GPUBindGroup;
    // Re-bound when the cache's pools were reallocated (growth).
    const rebind = () => {
      device.queue.writeBuffer(params, 0, new Uint32Array(kvCacheParams(cache)));
      const L = cache.layers[b.layer];
      appendGroup = bindGroup(device, append, { 0: params, 1: b.step, 2: b.k, 3: b.v, 4: L.k, 5: L.v, 6: L.index, 7: L.score }, `kv append ${b.layer}`);
      advanceGroup = bindGroup(device, advance, { 0: params, 1: b.step, 6: L.index }, `kv advance ${b.layer}`);
      version = cache.version;
    };
    rebind();
    const { numKvHeads, headDim } = cache.o;
    return {
      encode(pass, dynamic = {}) {
        if (version !== cache.version) rebind();
        pass.setPipeline(append);
        pass.setBindGroup(0, appendGroup);
        pass.dispatchWorkgroups(Math.ceil((numKvHeads * headDim) / 2 / 64), Math.max(1, dynamic.tokens ?? 1));
        pass.setPipeline(advance);
        pass.setBindGroup(0, advanceGroup);
        pass.dispatchWorkgroups(Math.ceil(numKvHeads / 64));
      },
    };
  }
}
