/**
 * Wrapper of shaders/matvec.wgsl: y (+)= W x for one token (decoding), for every weight format.
 * The module is weights_<format>.wgsl + matvec.wgsl (+ the tiled variant's reduction, below).
 */
import { deviceOf, variantOf, type GpuTarget } from './device';
import type { KernelVariant } from './variant';
import { bindGroup, computePipeline, type BoundKernel } from './pipelines';
import { shaderSource } from './shaders';
import { OUTPUT_FIELDS, outputBindings, outputFields, outputPrelude, type ProductOutput } from './product_out';
import { uniformStruct, wgslStructs } from './uniforms';
import { ROW_GROUP, rowGroup, sliceBindings, weightShader, type F16Mode, type GpuTensor } from './weights';

export interface WeightKernelOptions {
  /** Forced in tests; default: `chooseVariant(ctx.info)` (or 'simple' when given a bare device). */
  variant?: KernelVariant;
  /**
   * f16 weights: 'packed' (u32 words + unpack2x16float) or 'native' (vec4<f16> loads; shader-f16,
   * packed without it). Default: native on the tiled variant (real GPUs), packed on simple.
   */
  f16?: F16Mode;
  /** Tiled variant: reduce with subgroupAdd when the device has 'subgroups' (default true). */
  subgroups?: boolean;
  /** Workgroups per dispatch dimension before wrapping into the next one (default 65535; forced small in tests). */
  maxGroups?: number;
  /** Simple variant: rows per invocation and invocations per workgroup (default SIMPLE_SHAPE). */
  simple?: SimpleShape;
}

export interface SimpleShape {
  rows: number;
  workgroup: number;
}

export interface MatvecBuffers extends ProductOutput {
  weight: GpuTensor;
  x: GPUBuffer;
}

export interface MatvecOptions {
  /** y += W x (fuses the residual add of the output and down projections). */
  accumulate?: boolean;
  /** Float offset of x in its buffer. */
  xOffset?: number;
  /** Float offset in y of output row 0 (e.g. to write a part of a larger vector). */
  rowOffset?: number;
}

/**
 * matvec.wgsl's uniform. groupsX: workgroups along x of the 2-D dispatch (more than 65535 wrap into y);
 * yStride is product_out.wgsl's, unused with one token.
 */
const MATVEC_PARAMS = uniformStruct('MatvecParams', { rows: 'u32', cols: 'u32', xOffset: 'u32', yOffset: 'u32', accumulate: 'u32', groupsX: 'u32', ...OUTPUT_FIELDS, yStride: 'u32' });

/** Largest workgroup count per dimension every WebGPU device supports. */
export const MAX_GROUPS = 65535;

/** A 1-D count of workgroups as a 2-D dispatch [x, y] (x * y >= count); kernels rebuild the index from x. */
export function grid2d(count: number, max = MAX_GROUPS): [number, number] {
  if (count <= max) return [Math.max(1, count), 1];
  const y = Math.ceil(count / max);
  if (y > max) throw new RangeError(`${count} workgroups exceed a ${max} x ${max} dispatch`);
  return [Math.ceil(count / y), y];
}

/** Workgroup reduction of the tiled variant (WG = 64): a tree in workgroup memory. */
const REDUCE_WORKGROUP = `
var<workgroup> row_partials: array<f32, 64>;
fn row_sum(v: f32, lid: u32) -> f32 {
  row_partials[lid] = v;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s >>= 1u) {
    if (lid < s) { row_partials[lid] += row_partials[lid + s]; }
    workgroupBarrier();
  }
  return row_partials[0];
}
`;

/**
 * With subgroups: subgroupAdd, then one barrier and the first invocation adds the per-subgroup sums
 * (WGSL does not say which invocations share a subgroup, so every slot is written, 0 but for the
 * first invocation of each subgroup).
 */
const REDUCE_SUBGROUP = `
var<workgroup> row_partials: array<vec4<f32>, 16>;
fn row_sum(v: f32, lid: u32) -> f32 {
  let s = subgroupAdd(v);
  row_partials[lid >> 2u][lid & 3u] = select(0.0, s, lid == subgroupBroadcastFirst(lid));
  workgroupBarrier();
  var t = vec4<f32>();
  if (lid == 0u) {
    for (var i = 0u; i < 16u; i++) { t += row_partials[i]; }
  }
  return (t.x + t.y) + (t.z + t.w);
}
`;

export interface ResolvedWeightKernel {
  device: GPUDevice;
  variant: KernelVariant;
  f16: F16Mode;
  subgroups: boolean;
  maxGroups: number;
}

/** The settings a weight kernel (matvec, matmul) runs with on `ctx`. */
export function resolveWeightKernel(ctx: GpuTarget, opts: WeightKernelOptions): ResolvedWeightKernel {
  const device = deviceOf(ctx);
  const variant = variantOf(ctx, opts.variant);
  // What runs: native only where the device has shader-f16 (weightShader falls back likewise).
  const f16 = (opts.f16 ?? (variant === 'tiled' ? 'native' : 'packed')) === 'native' && device.features.has('shader-f16') ? 'native' : 'packed';
  return {
    device,
    variant,
    f16,
    subgroups: (opts.subgroups ?? true) && device.features.has('subgroups' as GPUFeatureName),
    maxGroups: Math.min(opts.maxGroups ?? MAX_GROUPS, device.limits.maxComputeWorkgroupsPerDimension),
  };
}

/** Formats without a per-block scale read whole blocks through weight4, with a scale of 1. */
export const UNIT_BLOCK_SCALE = `
fn block_scale(row: u32, col: u32, cols: u32) -> f32 { return 1.0; }
fn weight4_unscaled(row: u32, col: u32, cols: u32) -> vec4<f32> { return weight4(row, col, cols); }
`;

/** Stand-ins for the optional group accessors (weights_f16.wgsl, weights_q8_0.wgsl) where a format has none (GROUPED is false then). */
export const NO_GROUP_SCALES = 'fn group_scales(g: u32, col: u32, cols: u32) -> array<f32, 8> { return array<f32, 8>(); }\n';
const NO_GROUP_ACCESSORS = 'fn group_dot4(g: u32, col: u32, cols: u32, xv: vec4<f32>) -> array<f32, 8> { return array<f32, 8>(); }\n' + NO_GROUP_SCALES;

export const defines = (shaders: string[], fn: string) => shaders.some((n) => shaderSource(n).includes(`fn ${fn}(`));

/**
 * The optional accessors the simple variant calls, supplied where the format lacks them, and
 * GROUPED: whether it reads whole row groups (the format has group accessors, 8 rows per invocation).
 */
function blockAccessors(shaders: string[], shape: SimpleShape): string {
  const grouped = defines(shaders, 'group_dot4') && shape.rows === ROW_GROUP;
  return (defines(shaders, 'block_scale') ? '' : UNIT_BLOCK_SCALE) + (defines(shaders, 'group_dot4') ? '' : NO_GROUP_ACCESSORS) + `const GROUPED: bool = ${grouped};\n`;
}

/**
 * Rows per invocation and workgroup size of the simple variant. Measured on lavapipe at the
 * SmolLM2-135M shapes (30 layers' weights per measurement, timestamp queries): 8 rows in
 * workgroups of 8 beat 4 x 64 by 1.0-1.3x (f16) and 1.3-1.6x (Q8_0), and a 192-row projection
 * gets 3 workgroups instead of one.
 */
export const SIMPLE_SHAPE: SimpleShape = { rows: 8, workgroup: 8 };

export class MatvecKernel {
  readonly device: GPUDevice;
  readonly variant: KernelVariant;
  /** How f16 weights are read on this device ('native' only where it has shader-f16). */
  readonly f16: F16Mode;
  /** True when the tiled variant reduces with subgroupAdd. */
  readonly subgroups: boolean;
  readonly maxGroups: number;
  private readonly simple: SimpleShape | undefined;

  constructor(ctx: GpuTarget, opts: WeightKernelOptions = {}) {
    ({ device: this.device, variant: this.variant, f16: this.f16, subgroups: this.subgroups, maxGroups: this.maxGroups } = resolveWeightKernel(ctx, opts));
    this.simple = opts.simple;
  }

  /** The pipeline for a weight format (compiled once per device and shared). */
  pipeline(weight: GpuTensor, shape: SimpleShape = this.simpleShape(), out: Pick<ProductOutput, 'bias' | 'parts' | 'glu'> = {}): GPUComputePipeline {
    const w = weightShader(this.device, weight.dtype, this.f16);
    const enables = [...w.enables];
    // Both entry points share the module, so `row_sum` is always defined (unused by `simple`).
    const sg = this.variant === 'tiled' && this.subgroups;
    if (sg) enables.push('subgroups');
    const reduce = sg ? REDUCE_SUBGROUP : REDUCE_WORKGROUP;
    const prelude = enables.map((e) => `enable ${e};\n`).join('') + blockAccessors(w.shaders, shape) + `const SIMPLE_ROWS: u32 = ${shape.rows}u;\nconst SIMPLE_WG: u32 = ${shape.workgroup}u;\n` + reduce + wgslStructs(MATVEC_PARAMS) + outputPrelude(out);
    const tiledGroup = `const TILED_GROUP: bool = ${this.variant === 'tiled' && rowGroup(weight.dtype) === ROW_GROUP};\n`;
    return computePipeline(this.device, [...w.shaders, 'product_out', 'matvec'], this.variant, prelude + tiledGroup);
  }

  /** The simple variant's shape: the option when given, else SIMPLE_SHAPE. */
  simpleShape(): SimpleShape {
    return this.simple ?? SIMPLE_SHAPE;
  }

  /** Builds the uniforms and bind groups once; `encode(pass)` dispatches every row slice. */
  bind(b: MatvecBuffers, o: MatvecOptions = {}): BoundKernel & { destroy(): void } {
    const { weight } = b;
    const shape = this.simpleShape();
    const pipeline = this.pipeline(weight, shape, b);
    // simple: rows x workgroup rows per workgroup; tiled: a workgroup per row group (8 rows of f16 / q8_0, else 1).
    const perRow = this.variant === 'simple' ? shape.rows * shape.workgroup : rowGroup(weight.dtype);
    // The simple variant's SiLU(gate) * up needs each invocation's rows in whole (gate, gate, up, up) fours.
    if (b.glu && this.variant === 'simple' && (shape.rows % 4 !== 0 || weight.slices.some((sl) => sl.rowStart % 4 !== 0))) throw new RangeError(`matvec ${weight.name}: gate/up rows in fours need ${shape.rows} rows per invocation and slices to be multiples of 4`);
    const uniforms: GPUBuffer[] = [];
    const dispatches = weight.slices.map((slice) => {
      const [gx, gy] = grid2d(Math.ceil(slice.rows / perRow), this.maxGroups);
      const params = MATVEC_PARAMS.create(
        this.device,
        { rows: slice.rows, cols: weight.cols, xOffset: o.xOffset ?? 0, yOffset: o.rowOffset ?? 0, accumulate: o.accumulate ? 1 : 0, groupsX: gx, ...outputFields(weight, slice, b), yStride: 0 },
        `matvec ${weight.name}`,
      );
      uniforms.push(params);
      const group = bindGroup(this.device, pipeline, { 0: params, 2: b.x, ...outputBindings(b), ...sliceBindings(slice) }, `matvec ${weight.name}`);
      return { group, gx, gy };
    });
    return {
      encode(pass) {
        pass.setPipeline(pipeline);
        for (const d of dispatches) {
          pass.setBindGroup(0, d.group);
          pass.dispatchWorkgroups(d.gx, d.gy);
        }
      },
      destroy() {
        for (const u of uniforms) u.destroy();
      },
    };
  }
}
