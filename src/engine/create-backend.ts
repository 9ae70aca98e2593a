import type { ModelDescription } from '../model/types';
import type { Backend, BackendName } from '../backend/backend';
import { CpuBackend } from '../cpu/backend';
import { WebGpuBackend } from '../gpu/backend';
import type { ResolvedPolicy } from '../kv/policy';
import type { GpuContext } from '../gpu/device';
import type { KvDtype } from '../kv/dtype';

export interface BackendOptions {
  /** The KV policy, resolved (`resolvePolicy`) where the options came in; default the full cache. */
  policy?: ResolvedPolicy;
  /** Ids per prefill chunk, each compressed after under a policy; Infinity: one-shot (default 512). */
  prefillChunk?: number;
  /** Storage of K and V (default 'f32'). */
  kvDtype?: KvDtype;
  /** WebGPU: a device to share (default: a new one). */
  gpu?: GpuContext;
}

export async function createBackend(model: ModelDescription, name: BackendName, o: BackendOptions = {}): Promise<Backend> {
  switch (name) {
    case 'cpu':
      return new CpuBackend(model, { policy: o.policy, prefillChunk: o.prefillChunk, kvDtype: o.kvDtype });
    case 'webgpu':
      return WebGpuBackend.create(model, { policy: o.policy, prefillChunk: o.prefillChunk, kvDtype: o.kvDtype, ctx: o.gpu });
  }
}
