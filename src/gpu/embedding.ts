/** Wrapper of shaders/embedding.wgsl: gathers the step's token rows from the embedding matrix (any format). */
import { deviceOf, type GpuTarget } from './device';
import type { GpuTensor } from './weights';
import { sliceBindings, weightShader } from './weights';
import { bindGroup, computePipeline, type BoundKernel } from './pipelines';
import { STEP_PARAMS } from './step-params';
import { uniformStruct, wgslStructs } from './uniforms';

/** One dispatch per row slice of the table: token ids in [rowStart, rowStart + rows) are this slice's. */
const EMBEDDING_PARAMS = uniformStruct('EmbeddingParams', { cols: 'u32', vocab: 'u32', rowStart: 'u32', rows: 'u32' });

export interface EmbeddingBuffers {
  weight: GpuTensor;
  /** Token ids, `array<u32>` (the sampler writes the next one here on the GPU). */
  ids: GPUBuffer;
  /** [T, cols] f32. */
  out: GPUBuffer;
  /** The shared StepParams uniform (its nTokens is T). */
  step: GPUBuffer;
}

export class EmbeddingKernel {
  readonly device: GPUDevice;

  constructor(ctx: GpuTarget) {
    this.device = deviceOf(ctx);
  }

  /** `encode(pass, { tokens })`: tokens is the step's T (an upper bound is enough); default 1. */
  bind(b: EmbeddingBuffers): BoundKernel {
    const { weight } = b;
    const w = weightShader(this.device, weight.dtype);
    const pipeline = computePipeline(this.device, [...w.shaders, 'embedding'], 'main', w.enables.map((e) => `enable ${e};\n`).join('') + wgslStructs(STEP_PARAMS, EMBEDDING_PARAMS));
    const uniforms: GPUBuffer[] = [];
    const groups = weight.slices.map((slice) => {
      const params = EMBEDDING_PARAMS.create(this.device, { cols: weight.cols, vocab: weight.rows, rowStart: slice.rowStart, rows: slice.rows }, `embedding ${weight.name}`);
      uniforms.push(params);
      return bindGroup(this.device, pipeline, { 0: params, 1: b.step, 2: b.ids, 3: b.out, ...sliceBindings(slice) }, `embedding ${weight.name}`);
    });
    const colGroups = Math.ceil(weight.cols / 64);
    return {
      encode(pass, dynamic) {
        pass.setPipeline(pipeline);
        for (const group of groups) {
          pass.setBindGroup(0, group);
          pass.dispatchWorkgroups(colGroups, dynamic?.tokens ?? 1);
        }
      },
      destroy() {
        for (const u of uniforms) u.destroy();
      },
    };
  }
}
