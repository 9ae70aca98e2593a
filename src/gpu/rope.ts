/**
 * The RoPE table of shaders/rope.wgsl (applied by the KV append, src/gpu/kv_append.ts): the inverse
 * frequencies (`ropeInvFreq`, Llama-3 scaling included) are uploaded once; angles and cos/sin are
 * computed on the GPU, so a step writes nothing for RoPE.
 */
import { ropeInvFreq } from '../math/rope-freq';
import type { RopeConfig } from '../model/types';
import { deviceOf, type GpuTarget } from './device';
import { storageBuffer } from './buffers';

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
