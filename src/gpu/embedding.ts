/** Wrapper of shaders/embedding.wgsl: gathers the step's token rows from the embedding matrix. */
import type { GpuTensor } from './weights';
import { bindGroup, computePipeline, type BoundKernel } from './pipelines';
import { uniformBuffer } from './buffers';

export class EmbeddingKernel {
  constructor(private readonly device: GPUDevice) {}

  bind(b: { weight: GpuTensor; ids: GPUBuffer; out: GPUBuffer; step: GPUBuffer }): BoundKernel {
    const { weight } = b;
    const pipeline = computePipeline(this.device, [`weights_${weight.dtype}`, 'embedding'], 'main');
    const groups = weight.slices.map((slice) => {
      const params = uniformBuffer(this.device, new Uint32Array([weight.cols, weight.rows, slice.rowStart, slice.rows]));
      const buffers: Record<number, GPUBuffer> = { 0: params, 1: b.step, 2: b.ids, 3: b.out, 8: slice.data };
      if (slice.scales) buffers[9] = slice.scales;
      return bindGroup(this.device, pipeline, buffers, 'embedding');
    });
    return {
      encode(pass, dynamic = {}) {
        pass.setPipeline(pipeline);
        for (const group of groups) {
          pass.setBindGroup(0, group);
          pass.dispatchWorkgroups(Math.ceil(weight.cols / 64), dynamic.tokens ?? 1);
        }
      },
    };
  }
}
