import type { ModelDescription } from '../model/types';
import type { Backend, BackendName } from '../backend/backend';
import { CpuBackend } from '../cpu/backend';
import { WebGpuBackend } from '../gpu/backend';
import type { ResolvedPolicy } from '../kv/policy';
import type { GpuContext } from '../gpu/device';

export interface BackendOptions {
  /** The KV policy, resolved (`resolvePolicy`) where the options came in; default the full cache. */
  policy?: ResolvedPolicy;
  /** Longest first prompt (sizes the GPU cache of a compressing policy). */
  maxPromptTokens?: number;
  /** WebGPU: a device to share (default: a new one). */
  gpu?: GpuContext;
}

export async function createBackend(model: ModelDescription, name: BackendName, o: BackendOptions = {}): Promise<Backend> {
  switch (name) {
    case 'cpu':
      return new CpuBackend(model, { policy: o.policy });
    case 'webgpu':
      return WebGpuBackend.create(model, { policy: o.policy, maxPromptTokens: o.maxPromptTokens, ctx: o.gpu });
  }
}
