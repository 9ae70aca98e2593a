/** Wrapper of shaders/swiglu.wgsl. */
import { bindGroup, computePipeline, type BoundKernel } from './pipelines';
import { uniformBuffer } from './buffers';

export class SwigluKernel {
  constructor(private readonly device: GPUDevice) {}

  bind(b: { gate: GPUBuffer; up: GPUBuffer; step: GPUBuffer }, o: { width: number }): BoundKernel {
    const pipeline = computePipeline(this.device, ['swiglu'], 'main');
    const params = uniformBuffer(this.device, new Uint32Array([o.width, 0, 0, 0]));
    const group = bindGroup(this.device, pipeline, { 0: params, 1: b.step, 2: b.gate, 3: b.up }, 'swiglu');
    return {
      encode(pass, dynamic = {}) {
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, group);
        pass.dispatchWorkgroups(Math.ceil(o.width / 64), dynamic.tokens ?? 1);
      },
    };
  }
}
