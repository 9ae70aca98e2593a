import type { ModelDescription } from '../model/types';
import type { Backend, BackendName } from './backend';
import { CpuBackend } from '../cpu/backend';
import { WebGpuBackend } from '../gpu/backend';
import type { KvPolicyOptions } from '../kv/policy';
import type { GpuContext } from '../gpu/device';

export interface BackendOptions {
  kv?: KvPolicyOptions;
  /** Longest first prompt (sizes the GPU cache of a compressing policy). */
  maxPromptTokens?: number;
  /** WebGPU: a device to share (default: a new one). */
  gpu?: GpuContext;
}

export async function createBackend(model: ModelDescription, name: BackendName, o: BackendOptions = {}): Promise<Backend> {
  switch (name) {
    case 'cpu':
      return new CpuBackend(model, { kv: o.kv });
    case 'webgpu':
      return WebGpuBackend.create(model, { kv: o.kv, maxPromptTokens: o.maxPromptTokens, ctx: o.gpu });
  }
}
