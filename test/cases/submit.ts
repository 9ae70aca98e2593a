import type { GpuContext } from '../../src/gpu/device';

/** Encodes one compute pass with `encode` and submits it. */
export function submitPass(ctx: GpuContext, encode: (pass: GPUComputePassEncoder) => void): void {
  const enc = ctx.device.createCommandEncoder();
  const pass = enc.beginComputePass();
  encode(pass);
  pass.end();
  ctx.device.queue.submit([enc.finish()]);
}
