/** Wrapper of shaders/rmsnorm.wgsl: RMSNorm over the step's T rows (or its last row only). */
import type { GpuContext } from './device';
import { chooseVariant, type KernelVariant } from './variant';
import { bindGroup, computePipeline, type BoundKernel } from './pipelines';
import { uniformBuffer } from './buffers';

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

  /** A variant (or `{ variant }`) forces one; default `chooseVariant(ctx.info)`, 'simple' for a bare device. */
  constructor(ctx: GpuContext | GPUDevice, opts?: KernelVariant | { variant?: KernelVariant }) {
    const isCtx = (ctx as GpuContext).info !== undefined;
    this.device = isCtx ? (ctx as GpuContext).device : (ctx as GPUDevice);
    const forced = typeof opts === 'string' ? opts : opts?.variant;
    this.variant = forced ?? (isCtx ? chooseVariant((ctx as GpuContext).info) : 'simple');
  }

  bind(b: RmsNormBuffers, o: RmsNormOptions): BoundKernel & { destroy(): void } {
    const pipeline = computePipeline(this.device, ['rmsnorm'], this.variant);
    const raw = new ArrayBuffer(16);
    new Uint32Array(raw).set([o.width, 0, o.lastOnly ? 1 : 0, 0]);
    new Float32Array(raw)[1] = o.eps;
    const params = uniformBuffer(this.device, new Uint8Array(raw), 'rmsnorm params');
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
