/** Wrapper of shaders/rmsnorm.wgsl: RMSNorm over the step's T rows (or its last row only). */
import { deviceOf, variantOf, type GpuTarget } from './device';
import type { KernelVariant } from './variant';
import { bindGroup, computePipeline, type BoundKernel } from './pipelines';
import { STEP_PARAMS } from './step-params';
import { uniformStruct, wgslStructs } from './uniforms';

const RMSNORM_PARAMS = uniformStruct('RmsNormParams', { width: 'u32', eps: 'f32', lastOnly: 'u32' });

export interface RmsNormBuffers {
  /** [T, width] f32. */
  x: GPUBuffer;
  /** [width] f32 (norm weights are always uploaded as f32). */
  weight: GPUBuffer;
  /** [T, width] f32, or [width] with `lastOnly`; must not be `x`. */
  out: GPUBuffer;
  step: GPUBuffer;
}

export interface RmsNormOptions {
  width: number;
  eps: number;
  /** Normalize only the step's last row into out[0..width) (the final norm before the LM head). */
  lastOnly?: boolean;
}

export class RmsNormKernel {
  readonly device: GPUDevice;
  readonly variant: KernelVariant;

  /** `variant` forces one; default `variantOf(ctx)`. */
  constructor(ctx: GpuTarget, o: { variant?: KernelVariant } = {}) {
    this.device = deviceOf(ctx);
    this.variant = variantOf(ctx, o.variant);
  }

  bind(b: RmsNormBuffers, o: RmsNormOptions): BoundKernel {
    const pipeline = computePipeline(this.device, ['rmsnorm'], this.variant, wgslStructs(STEP_PARAMS, RMSNORM_PARAMS));
    const params = RMSNORM_PARAMS.create(this.device, { width: o.width, eps: o.eps, lastOnly: o.lastOnly ? 1 : 0 }, 'rmsnorm params');
    const group = bindGroup(this.device, pipeline, { 0: params, 1: b.step, 2: b.x, 3: b.weight, 4: b.out }, 'rmsnorm');
    const perRow = this.variant === 'tiled';
    return {
      encode(pass, dynamic = {}) {
        const rows = o.lastOnly ? 1 : (dynamic.tokens ?? 1);
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, group);
        pass.dispatchWorkgroups(perRow ? rows : Math.ceil(rows / 64));
      },
      destroy() {
        params.destroy();
      },
    };
  }
}
