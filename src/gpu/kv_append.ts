/**
 * Wrapper of shaders/kv_append.wgsl: stores the step's post-RoPE K/V [T, numKvHeads, headDim] in one
 * layer's paged cache (slot rules in src/gpu/kv-cache.ts). Barrier-free on every adapter: it is a
 * copy, so there is a single variant.
 */
import { deviceOf, type GpuTarget } from './device';
import { KV_LAYOUT, kvLayout, type GpuKvCache } from './kv-cache';
import { bindGroup, computePipeline, type BoundKernel } from './pipelines';
import { STEP_PARAMS } from './step-params';
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
    const { shaders, prelude } = kvStorage(cache, 'kv_append');
    const append = computePipeline(device, shaders, 'append', prelude);
    let version = -1;
    let appendGroup: GPUBindGroup;
    // Re-bound when the cache's pools were reallocated (growth).
    const rebind = () => {
      KV_LAYOUT.write(device, params, kvLayout(cache));
      const L = cache.layers[b.layer];
      appendGroup = bindGroup(device, append, { 0: params, 1: b.step, 2: b.k, 3: b.v, 4: L.k, 5: L.v, 6: L.index, 7: L.score }, `kv append ${b.layer}`);
      version = cache.version;
    };
    rebind();
    const { numKvHeads } = cache.o;
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
      },
    };
  }
}
