/** Wrapper of shaders/matmul.wgsl: Y (+)= X W^T for T tokens, for every weight format. */
import type { GpuTensor } from './weights';
import type { KernelVariant } from './variant';
import { bindGroup, computePipeline, type BoundKernel } from './pipelines';
import { uniformBuffer } from './buffers';

export interface MatmulBuffers {
  weight: GpuTensor;
  x: GPUBuffer;
  y: GPUBuffer;
  step: GPUBuffer;
}

export interface MatmulOptions {
  /** y += W x (fuses the residual add). */
  accumulate?: boolean;
  /** Float offset of the first token's input in `x`. */
  xOffset?: number;
  /** Token count when not the step's (e.g. the LM head on the last token only). */
  fixedTokens?: number;
  /** Floats between tokens in `y` (default: the weight's rows). */
  yStride?: number;
}

export class MatmulKernel {
  constructor(
    private readonly device: GPUDevice,
    readonly variant: KernelVariant,
  ) {}

  /** `encode(pass, { tokens })`: tokens is an upper bound of T for the dispatch size. */
  bind(b: MatmulBuffers, o: MatmulOptions = {}): BoundKernel {
    const { weight } = b;
    const pipeline = computePipeline(this.device, [`weights_${weight.dtype}`, 'matmul'], this.variant);
    const dispatches = weight.slices.map((slice) => {
      const params = uniformBuffer(
        this.device,
        new Uint32Array([slice.rows, weight.cols, slice.rowStart, o.accumulate ? 1 : 0, o.xOffset ?? 0, o.fixedTokens ?? 0, o.yStride ?? weight.rows, 0]),
        'matmul params',
      );
      const buffers: Record<number, GPUBuffer> = { 0: params, 1: b.step, 2: b.x, 3: b.y, 8: slice.data };
      if (slice.scales) buffers[9] = slice.scales;
      return { rows: slice.rows, group: bindGroup(this.device, pipeline, buffers, 'matmul') };
    });
    const variant = this.variant;
    return {
      encode(pass, dynamic = {}) {
        const tokenGroups = Math.ceil((o.fixedTokens || dynamic.tokens || 1) / 4);
        pass.setPipeline(pipeline);
        for (const d of dispatches) {
          pass.setBindGroup(0, d.group);
          if (variant === 'simple') pass.dispatchWorkgroups(Math.ceil(d.rows / 64), tokenGroups);
          else pass.dispatchWorkgroups(Math.min(d.rows, 65535), tokenGroups, Math.ceil(d.rows / 65535));
        }
      },
    };
  }
}
