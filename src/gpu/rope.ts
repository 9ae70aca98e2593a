/** Wrapper of shaders/rope.wgsl and the per-step cos/sin table it reads. */
import { ropeInvFreq } from '../cpu/ops';
import type { RopeConfig } from '../model/types';
import { bindGroup, computePipeline, type BoundKernel } from './pipelines';
import { uniformBuffer } from './buffers';

/** cos/sin of the step's positions, written with queue.writeBuffer before each forward call. */
export class RopeTable {
  readonly buffer: GPUBuffer;
  private readonly invFreq: Float32Array;
  private readonly data: Float32Array;

  constructor(
    private readonly device: GPUDevice,
    headDim: number,
    rope: RopeConfig,
    maxTokens: number,
  ) {
    this.invFreq = ropeInvFreq(headDim, rope);
    this.data = new Float32Array(maxTokens * headDim);
    this.buffer = device.createBuffer({ label: 'rope table', size: this.data.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
  }

  write(pos0: number, tokens: number): void {
    const half = this.invFreq.length;
    for (let t = 0; t < tokens; t++)
      for (let i = 0; i < half; i++) {
        const angle = Math.fround((pos0 + t) * this.invFreq[i]);
        this.data[2 * (t * half + i)] = Math.cos(angle);
        this.data[2 * (t * half + i) + 1] = Math.sin(angle);
      }
    this.device.queue.writeBuffer(this.buffer, 0, this.data.buffer, 0, tokens * half * 8);
  }

  destroy(): void {
    this.buffer.destroy();
  }
}

export class RopeKernel {
  constructor(private readonly device: GPUDevice) {}

  bind(b: { q: GPUBuffer; k: GPUBuffer; table: RopeTable; step: GPUBuffer }, o: { numHeads: number; numKvHeads: number; headDim: number; layout: RopeConfig['layout'] }): BoundKernel {
    const pipeline = computePipeline(this.device, ['rope'], 'main');
    const params = uniformBuffer(this.device, new Uint32Array([o.numHeads, o.numKvHeads, o.headDim, o.layout === 'interleaved' ? 1 : 0]));
    const group = bindGroup(this.device, pipeline, { 0: params, 1: b.step, 2: b.q, 3: b.k, 4: b.table.buffer }, 'rope');
    const threads = ((o.numHeads + o.numKvHeads) * o.headDim) / 2;
    return {
      encode(pass, dynamic = {}) {
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, group);
        pass.dispatchWorkgroups(Math.ceil(threads / 64), dynamic.tokens ?? 1);
      },
    };
  }
}
