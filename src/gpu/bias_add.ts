/** Wrapper of shaders/bias_add.wgsl: y += b on each of the step's T rows (Qwen2's q/k/v biases). */
import type { GpuContext } from './device';
import { bindGroup, computePipeline, type BoundKernel } from './pipelines';
import { uniformBuffer } from './buffers';

export interface BiasAddBuffers {
  /** [T, width] f32, updated in place. */
  y: GPUBuffer;
  /** [width] f32. */
  bias: GPUBuffer;
  step: GPUBuffer;
}

export class BiasAddKernel {
  readonly device: GPUDevice;

  constructor(ctx: GpuContext | GPUDevice) {
    this.device = (ctx as GpuContext).info !== undefined ? (ctx as GpuContext).device : (ctx as GPUDevice);
  }

  /** `encode(pass, { tokens })`: tokens is the step's T (an upper bound is enough); default 1. */
  bind(b: BiasAddBuffers, o: { width: number }): BoundKernel & { destroy(): void } {
    const pipeline = computePipeline(this.device, ['bias_add'], 'main');
    const params = uniformBuffer(this.device, new Uint32Array([o.width, 0, 0, 0]), 'bias_add params');
    const group = bindGroup(this.device, pipeline, { 0: params, 1: b.step, 2: b.y, 3: b.bias }, 'bias_add');
    const groupsX = Math.ceil(o.width / 64);
    return {
      encode(pass, dynamic = {}) {
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, group);
        pass.dispatchWorkgroups(groupsX, dynamic.tokens ?? 1);
      },
      destroy() {
        params.destroy();
      },
    };
  }
}
