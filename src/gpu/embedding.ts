/** Wrapper of shaders/embedding.wgsl: gathers the step's token rows from the embedding matrix (any format). */
import type { GpuContext } from './device';
import type { GpuTensor } from './weights';
import { sliceBindings, weightShader } from './weights';
import { bindGroup, computePipeline, type BoundKernel } from './pipelines';
import { uniformBuffer } from './buffers';

export interface EmbeddingBuffers {
  weight: GpuTensor;
  /** Token ids, `array<u32>` (the sampler writes the next one here on the GPU). */
  ids: GPUBuffer;
  /** [T, cols] f32. */
  out: GPUBuffer;
  /** The shared StepParams uniform (its nTokens is T). */
  step: GPUBuffer;
}

export class EmbeddingKernel {
  readonly device: GPUDevice;

  constructor(ctx: GpuContext | GPUDevice) {
    this.device = (ctx as GpuContext).info !== undefined && (ctx as GpuContext).device !== undefined ? (ctx as GpuContext).device : (ctx as GPUDevice);
  }

  /** `encode(pass, { tokens })`: tokens is the step's T (an upper bound is enough); default 1. */
  bind(b: EmbeddingBuffers): BoundKernel & { destroy(): void } {
    const { weight } = b;
    const w = weightShader(this.device, weight.dtype);
    const pipeline = computePipeline(this.device, [...w.shaders, 'embedding'], 'main', w.enables.map((e) => `enable ${e};\n`).join(''));
    const uniforms: GPUBuffer[] = [];
    const groups = weight.slices.map((slice) => {
      const params = uniformBuffer(this.device, new Uint32Array([weight.cols, weight.rows, slice.rowStart, slice.rows]), `embedding ${weight.name}`);
      uniforms.push(params);
      return bindGroup(this.device, pipeline, { 0: params, 1: b.step, 2: b.ids, 3: b.out, ...sliceBindings(slice) }, `embedding ${weight.name}`);
    });
    const colGroups = Math.ceil(weight.cols / 64);
    return {
      encode(pass, dynamic) {
        pass.setPipeline(pipeline);
        for (const group of groups) {
          pass.setBindGroup(0, group);
          pass.dispatchWorkgroups(colGroups, dynamic?.tokens ?? 1);
        }
      },
      destroy() {
        for (const u of uniforms) u.destroy();
      },
    };
  }
}
