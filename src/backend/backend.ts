/** What the decoding loop needs from a forward-pass implementation (CPU reference or WebGPU). */
import type { ModelConfig } from '../model/types';
import type { ResolvedSampling } from './sampling';
import type { KvMap, KvStats } from '../kv/stats';

export type BackendName = 'cpu' | 'webgpu';

/** Called after each prefill chunk with the ids of the call done so far. */
export type ChunkCallback = (done: number) => void | Promise<void>;

export interface Backend {
  readonly name: BackendName;
  readonly config: ModelConfig;
  /** Most tokens the context can hold: the model's context for the full cache, Infinity under a compressing policy. */
  readonly maxContext: number;
  /** Ids per prefill chunk (the policy compresses after each; src/kv/chunks.ts); Infinity: one-shot. */
  readonly prefillChunk: number;
  /** Every id appended so far; its length is the next position. */
  readonly context: readonly number[];
  /**
   * Appends `ids` to the context (a prompt or turn of any length, fed in chunks, or one decoded
   * token) and returns the id sampled from the logits of the last one; `step` seeds the draw.
   * `onChunk` is awaited after each chunk with the ids done so far (progress; tests compare states there).
   */
  append(ids: number[], sampling: ResolvedSampling, step: number, signal?: AbortSignal, onChunk?: ChunkCallback): Promise<number>;
  /**
   * Cuts the context back to its first `length` ids, when the cache holds every token exactly (the
   * full cache); returns false, changing nothing, under a compressing policy.
   */
  truncate(length: number): boolean;
  /**
   * Teacher forcing: appends `ids` and returns, for each i >= 1, -log p(ids[i] | context, ids[..i)).
   * The first id's own probability is not scored (no logits precede it). The first `promptTokens`
   * ids (default 1) are one prefill, each later id a decode step that the KV policy compresses
   * after, exactly as in generation; a ratio budget is a fraction of that prompt.
   */
  nll(ids: number[], signal?: AbortSignal, promptTokens?: number): Promise<Float64Array>;
  /** KV policy statistics (budgets, occupancy, evictions, merges, tau, memory); read lazily. */
  kvStats(): Promise<KvStats>;
  /** Positions kept, merged into and evicted, per layer (one small read per layer). */
  kvMap(): Promise<KvMap>;
  /** Forgets the context (the weights stay loaded). */
  reset(): void;
  dispose(): void;
}
