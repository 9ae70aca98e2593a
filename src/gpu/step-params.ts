/**
 * Per-step values every kernel may need, in one uniform buffer written once per forward call, so
 * the bind groups stay fixed for the whole session. Kernels get the WGSL struct from STEP_PARAMS.
 */
import { uniformStruct } from './uniforms';

export const STEP_PARAMS = uniformStruct('StepParams', {
  /** Position of the first token of this forward call. */
  pos0: 'u32',
  /** Tokens processed in this call (prefill chunk length, or 1). */
  nTokens: 'u32',
  /** Sampling step (seeds the draw). */
  step: 'u32',
  seed: 'u32',
});

export type StepValues = Parameters<typeof STEP_PARAMS.pack>[0];

export class StepParams {
  readonly buffer: GPUBuffer;

  constructor(private readonly device: GPUDevice) {
    this.buffer = STEP_PARAMS.create(device, { pos0: 0, nTokens: 0, step: 0, seed: 0 }, 'step-params');
  }

  write(v: StepValues): void {
    STEP_PARAMS.write(this.device, this.buffer, { ...v, seed: v.seed >>> 0 });
  }

  destroy(): void {
    this.buffer.destroy();
  }
}
