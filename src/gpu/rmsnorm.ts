/** Wrapper of shaders/rmsnorm.wgsl. */
import type { KernelVariant } from './variant';
import { bindGroup, computePipeline, type BoundKernel } from './pipelines';
import { uniformBuffer } from './buffers';

export class RmsNormKernel {
  constructor(
    private readonly device: GPUDevice,
    readonly variant: KernelVariant,
  ) {}

  bind(b: { x: GPUBuffer; weight: GPUBuffer; out: GPUBuffer; step: GPUBuffer }, o: { width: number; eps: number; lastOnly?: boolean }): BoundKernel {
    const pipeline = computePipeline(this.device, ['rmsnorm'], this.variant);
    const raw = new ArrayBuffer(16);
    new Uint32Array(raw).set([o.width, 0, o.lastOnly ? 1 : 0, 0]);
    new Float32Array(raw)[1] = o.eps;
    const params = uniformBuffer(this.device, new Uint8Array(raw));
    const group = bindGroup(this.device, pipeline, { 0: params, 1: b.step, 2: b.x, 3: b.weight, 4: b.out }, 'rmsnorm');
    const variant = this.variant;
    return {
      encode(pass, dynamic = {}) {
        const rows = o.lastOnly ? 1 : (dynamic.tokens ?? 1);
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, group);
        pass.dispatchWorkgroups(variant === 'simple' ? Math.ceil(rows / 64) : rows);
      },
    };
  }
}
