/**
 * Teacher-forced perplexity through any Backend (CPU reference, WebGPU in Node or in a page):
 * `Backend.nll` prefills the prompt, then feeds each later id as its own decode step that the
 * policy compresses after, exactly as in generation.
 */
import type { Backend } from '../backend/backend';
import { resolvePolicy, type KvOptions, type ResolvedPolicy } from '../kv/policy';

/** Makes a backend for one policy; `totalTokens` sizes a GPU cache, `promptTokens` a policy's prefill room. */
export type BackendFactory = (policy: ResolvedPolicy, size: { promptTokens: number; totalTokens: number }) => Promise<Backend>;

/** NLL of each id predicted by a decode step (ids[promptTokens + 1] on). */
export async function decodeNll(makeBackend: BackendFactory, ids: number[], promptTokens: number, kv: KvOptions, signal?: AbortSignal): Promise<Float64Array> {
  const backend = await makeBackend(resolvePolicy(kv), { promptTokens, totalTokens: ids.length });
  try {
    // out[i] scores ids[i + 1]; the prefill's own predictions are the same for every policy.
    return (await backend.nll(ids, signal, promptTokens)).slice(promptTokens);
  } finally {
    backend.dispose();
  }
}
