/** Compiled pipelines, one per device and source/entry point, shared by every wrapper instance. */
import { shaderSource } from './shaders';

const cache = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();

/** `shaders` are concatenated in order: a weight format first, then the kernel that uses it. */
export function computePipeline(device: GPUDevice, shaders: string[], entryPoint: string, prelude = ''): GPUComputePipeline {
  let perDevice = cache.get(device);
  if (!perDevice) cache.set(device, (perDevice = new Map()));
  const key = `${prelude}|${shaders.join('+')}#${entryPoint}`;
  let pipeline = perDevice.get(key);
  if (!pipeline) {
    const code = prelude + shaders.map(shaderSource).join('\n');
    const module = device.createShaderModule({ code, label: key });
    pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint }, label: key });
    perDevice.set(key, pipeline);
  }
  return pipeline;
}

/** A kernel with its buffers bound: encodes its dispatches each step; destroy() frees what the binding created. */
export interface BoundKernel {
  encode(pass: GPUComputePassEncoder, dynamic?: Record<string, number>): void;
  destroy(): void;
}

export function bindGroup(device: GPUDevice, pipeline: GPUComputePipeline, buffers: Record<number, GPUBuffer>, label?: string): GPUBindGroup {
  return device.createBindGroup({
    label,
    layout: pipeline.getBindGroupLayout(0),
    entries: Object.entries(buffers).map(([binding, buffer]) => ({ binding: Number(binding), resource: { buffer } })),
  });
}

/**
 * The bound form of a kernel with one pipeline and one bind group, dispatched (groupsX, the step's
 * tokens); destroy() frees the buffers the binding created (`owned`).
 */
export function perTokenKernel(pipeline: GPUComputePipeline, group: GPUBindGroup, groupsX: number, owned: GPUBuffer[]): BoundKernel {
  return {
    encode(pass, dynamic = {}) {
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, group);
      pass.dispatchWorkgroups(groupsX, dynamic.tokens ?? 1);
    },
    destroy() {
      for (const b of owned) b.destroy();
    },
  };
}
