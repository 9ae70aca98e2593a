/**
 * Wrapper of shaders/rope.wgsl: rotary embedding in place on q and k for the step's T tokens at
 * positions StepParams.pos0 + t. The inverse frequencies (`ropeInvFreq`, Llama-3 scaling included)
 * are uploaded once; angles and cos/sin are computed on the GPU, so a step writes nothing for RoPE.
 */
import { ropeInvFreq } from '../math/rope-freq';
import type { RopeConfig } from '../model/types';
import type { GpuContext } from './device';
import { bindGroup, computePipeline, type BoundKernel } from './pipelines';
import { storageBuffer, uniformBuffer } from './buffers';

function deviceOf(ctx: GpuContext | GPUDevice): GPUDevice {
  return (ctx as GpuContext).info !== undefined ? (ctx as GpuContext).device : (ctx as GPUDevice);
}

/** The RoPE table: one inverse frequency per rotated pair (headDim / 2 floats), uploaded once. */
export class RopeTable {
  readonly buffer: GPUBuffer;
  readonly invFreq: Float32Array;

  /** `_maxTokens` is accepted for older call sites; the table no longer depends on it. */
  constructor(ctx: GpuContext | GPUDevice, headDim: number, rope: RopeConfig, _maxTokens?: number) {
    if (headDim % 2 !== 0) throw new RangeError(`RoPE needs an even head dimension, got ${headDim}`);
    this.invFreq = ropeInvFreq(headDim, rope);
    this.buffer = storageBuffer(deviceOf(ctx), this.invFreq, 'rope inv freq');
  }

  /** @deprecated Nothing to do: positions come from StepParams and angles are computed on the GPU. */
  write(_pos0?: number, _tokens?: number): void {}

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
  constructor(ctx: GpuContext | GPUDevice, _opts?: unknown) {
    this.device = deviceOf(ctx);
  }

  bind(b: RopeBuffers, o: RopeOptions): BoundKernel & { destroy(): void } {
    if (b.table.invFreq.length !== o.headDim / 2) throw new RangeError(`RoPE table of ${b.table.invFreq.length} pairs for head dimension ${o.headDim}`);
    const pipeline = computePipeline(this.device, ['rope'], 'main');
    const params = uniformBuffer(this.device, new Uint32Array([o.numHeads, o.numKvHeads, o.headDim, o.layout === 'interleaved' ? 1 : 0]), 'rope params');
    const group = bindGroup(this.device, pipeline, { 0: params, 1: b.step, 2: b.q, 3: b.k, 4: b.table.buffer }, 'rope');
    const groupsX = Math.ceil(((o.numHeads + o.numKvHeads) * o.headDim) / 2 / 64);
    return {
      encode(pass, dynamic = {}) {
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, group);
        pass.dispatchWorkgroups(groupsX, dynamic.tokens ?? 1);
      },
      destroy() {
        params.destroy();
      },
    };
  }
}
