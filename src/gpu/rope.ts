/**
 * Wrapper of shaders/rope.wgsl: rotary embedding in place on q and k for the step's T tokens at
 * positions StepParams.pos0 + t. The inverse frequencies (`ropeInvFreq`, Llama-3 scaling included)
 * are uploaded once; angles and cos/sin are computed on the GPU, so a step writes nothing for RoPE.
 */
import { ropeInvFreq } from '../math/rope-freq';
import type { RopeConfig } from '../model/types';
import { deviceOf, type GpuTarget } from './device';
import { bindGroup, computePipeline, perTokenKernel, type BoundKernel } from './pipelines';
import { storageBuffer } from './buffers';
import { STEP_PARAMS } from './step-params';
import { uniformStruct, wgslStructs } from './uniforms';

const ROPE_PARAMS = uniformStruct('RopeParams', { numHeads: 'u32', numKvHeads: 'u32', headDim: 'u32', interleaved: 'u32' });

/** The RoPE table: one inverse frequency per rotated pair (headDim / 2 floats), uploaded once. */
export class RopeTable {
  readonly buffer: GPUBuffer;
  readonly invFreq: Float32Array;

  constructor(ctx: GpuTarget, headDim: number, rope: RopeConfig) {
    if (headDim % 2 !== 0) throw new RangeError(`RoPE needs an even head dimension, got ${headDim}`);
    this.invFreq = ropeInvFreq(headDim, rope);
    this.buffer = storageBuffer(deviceOf(ctx), this.invFreq, 'rope inv freq');
  }

  destroy(): void {
    this.buffer.destroy();
  }
}

export interface RopeBuffers {
  q: GPUBuffer;
  k: GPUBuffer;
  table: RopeTable;
  step: GPUBuffer;
}

export interface RopeOptions {
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  layout: RopeConfig['layout'];
}

export class RopeKernel {
  readonly device: GPUDevice;

  /** One implementation: barrier-free, one invocation per rotated pair (any variant). */
  constructor(ctx: GpuTarget) {
    this.device = deviceOf(ctx);
  }

  bind(b: RopeBuffers, o: RopeOptions): BoundKernel {
    if (b.table.invFreq.length !== o.headDim / 2) throw new RangeError(`RoPE table of ${b.table.invFreq.length} pairs for head dimension ${o.headDim}`);
    const pipeline = computePipeline(this.device, ['rope'], 'main', wgslStructs(STEP_PARAMS, ROPE_PARAMS));
    const params = ROPE_PARAMS.create(this.device, { numHeads: o.numHeads, numKvHeads: o.numKvHeads, headDim: o.headDim, interleaved: o.layout === 'interleaved' ? 1 : 0 }, 'rope params');
    const group = bindGroup(this.device, pipeline, { 0: params, 1: b.step, 2: b.q, 3: b.k, 4: b.table.buffer }, 'rope');
    const groupsX = Math.ceil(((o.numHeads + o.numKvHeads) * o.headDim) / 2 / 64);
    return perTokenKernel(pipeline, group, groupsX, [params]);
  }
}
