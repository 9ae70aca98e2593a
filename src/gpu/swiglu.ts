/** Wrapper of shaders/swiglu.wgsl: h = silu(gate) * up over the step's T rows, in place or into `out`. */
import { deviceOf, type GpuTarget } from './device';
import { bindGroup, computePipeline, perTokenKernel, type BoundKernel } from './pipelines';
import { STEP_PARAMS } from './step-params';
import { uniformStruct, wgslStructs } from './uniforms';

const SWIGLU_PARAMS = uniformStruct('SwigluParams', { width: 'u32' });

export interface SwigluBuffers {
  /** [T, width] f32; receives h unless `out` is given. */
  gate: GPUBuffer;
  /** [T, width] f32. */
  up: GPUBuffer;
  /** [T, width] f32 (optional; distinct from gate and up). */
  out?: GPUBuffer;
  step: GPUBuffer;
}

export class SwigluKernel {
  readonly device: GPUDevice;

  /** One implementation: barrier-free, one invocation per element (any variant). */
  constructor(ctx: GpuTarget) {
    this.device = deviceOf(ctx);
  }

  bind(b: SwigluBuffers, o: { width: number }): BoundKernel {
    const pipeline = computePipeline(this.device, ['swiglu'], b.out ? 'to_out' : 'main', wgslStructs(STEP_PARAMS, SWIGLU_PARAMS));
    const params = SWIGLU_PARAMS.create(this.device, { width: o.width }, 'swiglu params');
    const buffers: Record<number, GPUBuffer> = { 0: params, 1: b.step, 2: b.gate, 3: b.up };
    if (b.out) buffers[4] = b.out;
    const group = bindGroup(this.device, pipeline, buffers, 'swiglu');
    const groupsX = Math.ceil(o.width / 64);
    return perTokenKernel(pipeline, group, groupsX, [params]);
  }
}
