import type { ModelDescription } from '../model/types';
import type { Backend, BackendName } from './backend';
import { CpuBackend } from '../cpu/backend';
import { WebGpuBackend } from '../gpu/backend';
import type { KvPolicyOptions } from '../kv/policy';

export interface BackendOptions {
  kv?: KvPolicyOptions;
  /** Longest first prompt (sizes the GPU cache of a compressing policy). */
  maxPromptTokens?: number;
}

export async function createBackend(model: ModelDescription, name: BackendName, o: BackendOptions = {}): Promise<Backend> {
  switch (name) {
    case 'cpu':
      return new CpuBackend(model, { kv: o.kv });
    case 'webgpu':
      return WebGpuBackend.create(model, o);
  }
}
