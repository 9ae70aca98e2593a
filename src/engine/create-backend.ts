import type { ModelDescription } from '../model/types';
import type { Backend, BackendName } from './backend';
import { CpuBackend } from '../cpu/backend';
import { D2OError } from '../errors';

export async function createBackend(model: ModelDescription, name: BackendName): Promise<Backend> {
  switch (name) {
    case 'cpu':
      return new CpuBackend(model);
    case 'webgpu':
      throw new D2OError('the webgpu backend is not implemented yet');
  }
}
