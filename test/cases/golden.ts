/** End to end on the WebGPU backend: greedy ids and teacher-forced NLL (Node and browser). */
import type { GpuContext } from '../../src/gpu/device';
import { loadModel } from '../../src/model/load';
import { WebGpuBackend } from '../../src/gpu/backend';
import { generateIds } from '../../src/engine/generate';
import type { KernelVariant } from '../../src/gpu/variant';
import type { ModelDescription } from '../../src/model/types';

export async function greedyCase(ctx: GpuContext, c: { model: string; prompt: number[]; tokens: number; variant?: KernelVariant; maxChunk?: number }): Promise<number[]> {
  const backend = await WebGpuBackend.create(await loadModel(c.model), { ctx, variant: c.variant, maxChunk: c.maxChunk });
  try {
    const ids = [...c.prompt];
    for await (const id of generateIds(backend, c.prompt, { maxTokens: c.tokens, sampling: { greedy: true } })) ids.push(id);
    return ids;
  } finally {
    backend.dispose();
  }
}

export async function nllCase(ctx: GpuContext, c: { model: string | ModelDescription; ids: number[]; variant?: KernelVariant; maxChunk?: number }): Promise<number[]> {
  const backend = await WebGpuBackend.create(typeof c.model === 'string' ? await loadModel(c.model) : c.model, { ctx, variant: c.variant, maxChunk: c.maxChunk });
  try {
    return Array.from(await backend.nll(c.ids));
  } finally {
    backend.dispose();
  }
}
