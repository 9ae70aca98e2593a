/**
 * Per-step values every kernel may need, in one uniform buffer written once per forward call, so
 * the bind groups stay fixed for the whole session.
 * WGSL: struct StepParams { pos0: u32, nTokens: u32, step: u32, seed: u32 }
 */
export const STEP_PARAMS_WGSL = 'struct StepParams { pos0: u32, nTokens: u32, step: u32, seed: u32 }';

export interface StepValues {
  /** Position of the first token of this forward call. */
  pos0: number;
  /** Tokens processed in this call (prefill chunk length, or 1). */
  nTokens: number;
  /** Sampling step (seeds the draw). */
  step: number;
  seed: number;
}

export class StepParams {
  readonly buffer: GPUBuffer;
  private readonly data = new Uint32Array(4);

  constructor(private readonly device: GPUDevice) {
    this.buffer = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label: 'step-params' });
  }

  write(v: StepValues): void {
    this.data.set([v.pos0, v.nTokens, v.step, v.seed >>> 0]);
    this.device.queue.writeBuffer(this.buffer, 0, this.data);
  }

  destroy(): void {
    this.buffer.destroy();
  }
}
