/**
 * Wrapper of shaders/kv_append.wgsl: rotates the step's q and k (RoPE, shaders/rope.wgsl) and stores
 * K/V [T, numKvHeads, headDim] in one layer's paged cache (slot rules in src/gpu/kv-cache.ts), one
 * dispatch. Workgroup barriers only, so a single variant.
 */
import type { RopeConfig } from '../model/types';
import { storageBuffer } from './buffers';
import { deviceOf, type GpuTarget } from './device';
import { KV_LAYOUT, kvLayout, type GpuKvCache } from './kv-cache';
import { bindGroup, computePipeline, type BoundKernel } from './pipelines';
import { STEP_PARAMS } from './step-params';
import type { RopeTable } from './rope';
import { wgslStructs, type UniformStruct } from './uniforms';

/**
 * A kernel that touches the pools, with the cache's storage in front of it (shaders/kv_<storage>.wgsl)
 * and the `enable` directives that storage needs opening the module.
 */
export function kvStorage(cache: GpuKvCache, kernel: string, structs: UniformStruct<string>[] = [], consts = ''): { shaders: string[]; prelude: string } {
  const { shader, enables } = cache.kvShader;
  return { shaders: [shader, 'paged_kv', kernel], prelude: enables.map((e) => `enable ${e};\n`).join('') + wgslStructs(STEP_PARAMS, KV_LAYOUT, ...structs) + consts };
}

export interface KvAppendBuffers {
  /** This step's keys and values, [T, numKvHeads, headDim] f32. */
  k: GPUBuffer;
  v: GPUBuffer;
  cache: GpuKvCache;
  layer: number;
  /** The shared StepParams uniform: pos0 and nTokens. */
  step: GPUBuffer;
  /** RoPE on q [T, numHeads, headDim] and k before the copy (the forward pass); absent: k is stored as given. */
  rope?: { q: GPUBuffer; table: RopeTable; numHeads: number; layout: RopeConfig['layout'] };
}

export class KvAppendKernel {
  private readonly device: GPUDevice;

  constructor(ctx: GpuTarget) {
    this.device = deviceOf(ctx);
  }

  /** `encode(pass, { tokens })`: tokens is the step's T (an upper bound is enough). */
  bind(b: KvAppendBuffers): BoundKernel {
    const { device } = this;
    const { cache } = b;
    // The geometry changes when the cache's tables grow: rewritten at each bind.
    const params = KV_LAYOUT.create(device, kvLayout(cache), 'kv append layout');
    const { numKvHeads, headDim } = cache.o;
    const { rope } = b;
    if (rope && rope.numHeads % numKvHeads !== 0) throw new RangeError(`${rope.numHeads} query heads do not share ${numKvHeads} kv heads evenly`);
    if (rope && rope.table.invFreq.length !== headDim / 2) throw new RangeError(`RoPE table of ${rope.table.invFreq.length} pairs for head dimension ${headDim}`);
    const consts = `const ROPE: bool = ${!!rope};\nconst ROPE_GROUP: u32 = ${rope ? rope.numHeads / numKvHeads : 0}u;\nconst ROPE_INTERLEAVED: bool = ${rope?.layout === 'interleaved'};\n`;
    const { shaders, prelude } = kvStorage(cache, 'kv_append', [], consts);
    const append = computePipeline(device, ['rope', ...shaders], 'append', prelude);
    // Without RoPE the q and table bindings are never read: placeholders fill them.
    const unused = rope ? null : [storageBuffer(device, 16, 'kv append: no q'), storageBuffer(device, 16, 'kv append: no rope table')];
    let version = -1;
    let appendGroup: GPUBindGroup;
    // Re-bound when the cache's pools were reallocated (growth).
    const rebind = () => {
      KV_LAYOUT.write(device, params, kvLayout(cache));
      const L = cache.layers[b.layer];
      appendGroup = bindGroup(device, append, { 0: params, 1: b.step, 2: b.k, 3: b.v, 4: L.k, 5: L.v, 6: L.index, 7: L.score, 8: rope?.q ?? unused![0], 9: rope?.table.buffer ?? unused![1] }, `kv append ${b.layer}`);
      version = cache.version;
    };
    rebind();
    return {
      // One dispatch whatever the token count (the shader reads it from StepParams).
      encode(pass) {
        if (version !== cache.version) rebind();
        pass.setPipeline(append);
        pass.setBindGroup(0, appendGroup);
        pass.dispatchWorkgroups(numKvHeads);
      },
      destroy() {
        params.destroy();
        unused?.forEach((u) => u.destroy());
      },
    };
  }
}
