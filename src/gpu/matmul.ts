/**
 * Wrapper of shaders/matmul.wgsl: Y (+)= X W^T for the T tokens of a step, for every weight format.
 * A step of one token (decoding, or `fixedTokens: 1`) dispatches the matvec kernel instead, bound to
 * the same buffers, so callers use this one wrapper for every projection.
 */
import type { GpuTarget } from './device';
import type { KernelVariant } from './variant';
import { bindGroup, computePipeline, type BoundKernel } from './pipelines';
import { STEP_PARAMS } from './step-params';
import { uniformStruct, wgslStructs } from './uniforms';
import { sliceBindings, weightShader, type F16Mode, type GpuTensor } from './weights';
import { firstPartRows, OUTPUT_FIELDS, outputBindings, outputFields, outputPrelude, type ProductOutput } from './product_out';
import { grid2d, MatvecKernel, resolveWeightKernel, type WeightKernelOptions } from './matvec';

/**
 * matmul.wgsl's uniform. Token t's input at xOffset + t * cols; fixedTokens 0 means StepParams.nTokens;
 * groupsX: row groups along x (more than 65535 wrap into z); output fields as product_out.wgsl says.
 */
const MATMUL_PARAMS = uniformStruct('MatmulParams', { rows: 'u32', cols: 'u32', xOffset: 'u32', yOffset: 'u32', yStride: 'u32', accumulate: 'u32', fixedTokens: 'u32', groupsX: 'u32', ...OUTPUT_FIELDS });

export interface MatmulBuffers extends ProductOutput {
  weight: GpuTensor;
  x: GPUBuffer;
  /** The shared StepParams uniform (its nTokens is T). */
  step: GPUBuffer;
}

export interface MatmulOptions {
  /** y += W x (fuses the residual add). */
  accumulate?: boolean;
  /** Float offset of the first token's input in `x` (tokens are `cols` floats apart). */
  xOffset?: number;
  /** Float offset in `y` of token 0, row 0. */
  yOffset?: number;
  /** Token count when not the step's (e.g. the LM head on the last token only). */
  fixedTokens?: number;
  /** Floats between tokens in `y` (default: the weight's rows). */
  yStride?: number;
}

export class MatmulKernel {
  readonly device: GPUDevice;
  readonly variant: KernelVariant;
  readonly f16: F16Mode;
  readonly subgroups: boolean;
  readonly maxGroups: number;
  /** Serves steps of one token. */
  readonly matvec: MatvecKernel;

  constructor(ctx: GpuTarget, opts: WeightKernelOptions = {}) {
    ({ device: this.device, variant: this.variant, f16: this.f16, subgroups: this.subgroups, maxGroups: this.maxGroups } = resolveWeightKernel(ctx, opts));
    this.matvec = new MatvecKernel(this.device, { variant: this.variant, f16: this.f16, subgroups: this.subgroups, maxGroups: this.maxGroups });
  }

  pipeline(weight: GpuTensor, out: Pick<ProductOutput, 'bias' | 'parts' | 'glu'> = {}): GPUComputePipeline {
    const w = weightShader(this.device, weight.dtype, this.f16);
    return computePipeline(this.device, [...w.shaders, 'product_out', 'matmul'], this.variant, w.enables.map((e) => `enable ${e};\n`).join('') + wgslStructs(STEP_PARAMS, MATMUL_PARAMS) + outputPrelude(out));
  }

  /**
   * Builds the uniforms and bind groups once. `encode(pass, { tokens })`: tokens is the step's T
   * (an upper bound is enough: invocations past StepParams.nTokens return); with `fixedTokens` it
   * may be omitted.
   */
  bind(b: MatmulBuffers, o: MatmulOptions = {}): BoundKernel & { destroy(): void } {
    const { weight } = b;
    const pipeline = this.pipeline(weight, b);
    const simple = this.variant === 'simple';
    // simple: 64 invocations x 4 rows x 4 tokens; tiled: 32 rows x 32 tokens.
    const rowsPerGroup = simple ? 256 : 32;
    const tokensPerGroup = simple ? 4 : 32;
    const yStride = o.yStride ?? firstPartRows(weight, b);
    const uniforms: GPUBuffer[] = [];
    const dispatches = weight.slices.map((slice) => {
      // Row groups along x, wrapping into z (y counts token groups).
      const [gx, gz] = grid2d(Math.ceil(slice.rows / rowsPerGroup), this.maxGroups);
      const params = MATMUL_PARAMS.create(
        this.device,
        { rows: slice.rows, cols: weight.cols, xOffset: o.xOffset ?? 0, yOffset: o.yOffset ?? 0, yStride, accumulate: o.accumulate ? 1 : 0, fixedTokens: o.fixedTokens ?? 0, groupsX: gx, ...outputFields(weight, slice, b) },
        `matmul ${weight.name}`,
      );
      uniforms.push(params);
      const group = bindGroup(this.device, pipeline, { 0: params, 1: b.step, 2: b.x, ...outputBindings(b), ...sliceBindings(slice) }, `matmul ${weight.name}`);
      return { group, gx, gz };
    });
    const single = this.matvec.bind({ weight, x: b.x, y: b.y, parts: b.parts, bias: b.bias, glu: b.glu }, { accumulate: o.accumulate, xOffset: o.xOffset, rowOffset: o.yOffset });
    const fixed = o.fixedTokens;
    const maxGroups = this.maxGroups;
    return {
      encode(pass, dynamic) {
        const tokens = fixed || dynamic?.tokens;
        if (!tokens) throw new Error(`matmul ${weight.name}: encode needs { tokens } (the step's token count) unless bound with fixedTokens`);
        if (tokens === 1) return single.encode(pass);
        pass.setPipeline(pipeline);
        const gy = Math.ceil(tokens / tokensPerGroup);
        if (gy > maxGroups) throw new RangeError(`matmul ${weight.name}: ${tokens} tokens exceed one dispatch`);
        for (const d of dispatches) {
          pass.setBindGroup(0, d.group);
          pass.dispatchWorkgroups(d.gx, gy, d.gz);
        }
      },
      destroy() {
        for (const u of uniforms) u.destroy();
        single.destroy();
      },
    };
  }
}
