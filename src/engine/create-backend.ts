import type { ModelDescription } from '../model/types';
import type { Backend, BackendName } from './backend';
import { CpuBackend } from '../cpu/backend';
import { WebGpuBackend } from '../gpu/backend';

export async function createBackend(model: ModelDescription, name: BackendName): Promise<Backend> {
  switch (name) {
    case 'cpu':
      return new CpuBackend(model);
    case 'webgpu':
      return WebGpuBackend.create(model);
  }
}
