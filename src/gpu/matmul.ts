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
import { ROW_GROUP, sliceBindings, weightShader, type F16Mode, type GpuTensor } from './weights';
import { firstPartRows, OUTPUT_FIELDS, outputBindings, outputFields, outputPrelude, type ProductOutput } from './product_out';
import { defines, grid2d, NO_GROUP_SCALES, UNIT_BLOCK_SCALE, MatvecKernel, resolveWeightKernel, type WeightKernelOptions } from './matvec';

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

/** The simple variant's register tile (rows x tokens per invocation) and workgroup size. */
export interface MatmulTile {
  rows: number;
  tokens: number;
  workgroup: number;
}

/**
 * Measured on lavapipe at the SmolLM2-135M layer shapes (T = 32, 30 layers' weights, timestamp
 * queries, f16 and Q8_0): 8 rows x 8 tokens ran 2.5-4x faster than the former 4 x 4 (whose x
 * loads were four scalar loads per chunk); 8 x 4, 4 x 8, 6 x 8, 8 x 6, 12 x 4 were 1.3-1.9x slower
 * than 8 x 8, and 16 x 8, 8 x 12, 8 x 16 slower still (the tile no longer fits the registers).
 * Workgroups of 8, 16 and 32 measured alike (64 slower in one run); 16 gives a 576-row projection 5 row groups.
 */
export const SIMPLE_TILE: MatmulTile = { rows: 8, tokens: 8, workgroup: 16 };

/** Stand-in for the optional group accessor (weights_f16.wgsl, weights_q8_0.wgsl) where a format has none (GROUPED is false then). */
const NO_GROUP_WEIGHTS = 'fn group_weights4(g: u32, col: u32, cols: u32) -> array<vec4<f32>, 8> { return array<vec4<f32>, 8>(); }\n';

export interface MatmulKernelOptions extends WeightKernelOptions {
  /** Simple variant: the register tile (default SIMPLE_TILE; forced in tests and benchmarks). */
  tile?: MatmulTile;
}

export class MatmulKernel {
  readonly device: GPUDevice;
  readonly variant: KernelVariant;
  readonly f16: F16Mode;
  readonly subgroups: boolean;
  readonly maxGroups: number;
  /** Serves steps of one token. */
  readonly matvec: MatvecKernel;
  readonly tile: MatmulTile;

  constructor(ctx: GpuTarget, opts: MatmulKernelOptions = {}) {
    this.tile = opts.tile ?? SIMPLE_TILE;
    ({ device: this.device, variant: this.variant, f16: this.f16, subgroups: this.subgroups, maxGroups: this.maxGroups } = resolveWeightKernel(ctx, opts));
    this.matvec = new MatvecKernel(this.device, { variant: this.variant, f16: this.f16, subgroups: this.subgroups, maxGroups: this.maxGroups });
  }

  /** `xAligned`: x's offset is a multiple of 4 floats (simple reads x in vec4 loads then). */
  pipeline(weight: GpuTensor, out: Pick<ProductOutput, 'bias' | 'parts' | 'glu'> = {}, xAligned = true): GPUComputePipeline {
    const w = weightShader(this.device, weight.dtype, this.f16);
    const t = this.tile;
    const grouped = defines(w.shaders, 'group_weights4') && t.rows === ROW_GROUP;
    const tile = `const MM_ROWS: u32 = ${t.rows}u;\nconst MM_TOKENS: u32 = ${t.tokens}u;\nconst MM_WG: u32 = ${t.workgroup}u;\nconst X_VEC4: bool = ${xAligned};\nconst GROUPED: bool = ${grouped};\n`;
    const accessors = (defines(w.shaders, 'block_scale') ? '' : UNIT_BLOCK_SCALE) + (defines(w.shaders, 'group_weights4') ? '' : NO_GROUP_WEIGHTS) + (defines(w.shaders, 'group_scales') ? '' : NO_GROUP_SCALES);
    return computePipeline(this.device, [...w.shaders, 'product_out', 'matmul'], this.variant, w.enables.map((e) => `enable ${e};\n`).join('') + accessors + tile + wgslStructs(STEP_PARAMS, MATMUL_PARAMS) + outputPrelude(out));
  }

  /**
   * Builds the uniforms and bind groups once. `encode(pass, { tokens })`: tokens is the step's T
   * (an upper bound is enough: invocations past StepParams.nTokens return); with `fixedTokens` it
   * may be omitted.
   */
  bind(b: MatmulBuffers, o: MatmulOptions = {}): BoundKernel & { destroy(): void } {
    const { weight } = b;
    const pipeline = this.pipeline(weight, b, (o.xOffset ?? 0) % 4 === 0);
    const simple = this.variant === 'simple';
    // simple: the tile's rows x workgroup size by its tokens; tiled: 32 rows x 32 tokens.
    const rowsPerGroup = simple ? this.tile.rows * this.tile.workgroup : 32;
    const tokensPerGroup = simple ? this.tile.tokens : 32;
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
      // simple also reads x as vec4 (binding 4).
      const xs: Record<number, GPUBuffer> = simple ? { 2: b.x, 4: b.x } : { 2: b.x };
      const group = bindGroup(this.device, pipeline, { 0: params, 1: b.step, ...xs, ...outputBindings(b), ...sliceBindings(slice) }, `matmul ${weight.name}`);
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
