/** The CPU reference as a selectable backend, with every KV policy. */
import type { Backend, ChunkCallback } from '../backend/backend';
import type { ResolvedSampling } from '../backend/sampling';
import type { ModelDescription } from '../model/types';
import { throwIfAborted } from '../errors';
import { resolvePolicy, type ResolvedPolicy } from '../kv/policy';
import { fullCacheBytes, kvMapLayer, layerStats, type KvMap, type KvStats } from '../kv/stats';
import { negLogSoftmaxAt } from '../math/log-softmax';
import { planChunks, resolvePrefillChunk } from '../kv/chunks';
import type { KvDtype } from '../kv/dtype';
import { cpuWeights, type CpuWeights } from './weights';
import { CpuKvCache } from './kv-cache';
import { CpuKvPolicy } from './kv-policy';
import { forward, RunState } from './forward';
import { sample } from './sampler';
import { yieldToEventLoop } from '../util/yield';

/** Longest stretch of forward passes between two turns of the event loop. */
const YIELD_MS = 8;

export interface CpuBackendOptions {
  /** Default: the full cache. */
  policy?: ResolvedPolicy;
  /** Ids per prefill chunk, each compressed after under a policy (src/kv/chunks.ts); Infinity: one-shot. Default 512. */
  prefillChunk?: number;
  /** Storage of keys and values (rounded as the GPU stores them). Default 'f32'. */
  kvDtype?: KvDtype;
}

export class CpuBackend implements Backend {
  readonly name = 'cpu' as const;
  readonly context: number[] = [];
  private readonly weights: CpuWeights;
  private readonly state: RunState;
  cache: CpuKvCache;
  policy: CpuKvPolicy;
  private promptLength = 0;
  private lastYield = 0;
  /** Length of the prompt's first chunk, over which the column sums were gathered. */
  private colsumLength = 0;
  /** Ids appended since the policy last compressed. */
  private uncompressed = 0;
  readonly prefillChunk: number;
  readonly kvDtype: KvDtype;

  constructor(
    model: ModelDescription,
    private readonly o: CpuBackendOptions = {},
  ) {
    this.prefillChunk = resolvePrefillChunk(o.prefillChunk);
    this.kvDtype = o.kvDtype ?? 'f32';
    this.weights = cpuWeights(model);
    this.state = new RunState(this.weights);
    this.cache = this.newCache();
    this.policy = this.newPolicy();
  }

  get config() {
    return this.weights.config;
  }

  get maxContext(): number {
    return this.policy.p.evicts ? Infinity : this.config.maxPositionEmbeddings;
  }

  private newCache(): CpuKvCache {
    const c = this.weights.config;
    return new CpuKvCache(c.numLayers, c.numKvHeads, c.headDim, this.kvDtype);
  }

  private newPolicy(): CpuKvPolicy {
    return new CpuKvPolicy(this.o.policy ?? resolvePolicy(), this.weights.config.numLayers, this.weights.config.numHeads);
  }

  /**
   * Runs one call's ids in chunks (src/kv/chunks.ts): the prompt's first chunk gathers the column
   * sums, and the policy compresses after every chunk but the prompt's last.
   */
  private async feed(ids: number[], signal: AbortSignal | undefined, each?: (logits: Float32Array, i: number) => void, onChunk?: ChunkCallback): Promise<Float32Array> {
    if (this.context.length === 0) this.promptLength = ids.length;
    let logits!: Float32Array;
    for (const chunk of planChunks(ids.length, this.context.length, this.prefillChunk, this.policy.p.evicts ? this.uncompressed : 0)) {
      const colsum = chunk.colsum ? (this.policy.colsum ?? undefined) : undefined;
      if (chunk.colsum) this.colsumLength = chunk.end - chunk.start;
      for (let i = chunk.start; i < chunk.end; i++) {
        // The forward pass is synchronous: without a macrotask now and then, no timer, abort or
        // page event could run until the whole generation ended.
        if (performance.now() - this.lastYield > YIELD_MS) {
          await yieldToEventLoop();
          this.lastYield = performance.now();
        }
        throwIfAborted(signal);
        logits = forward(this.weights, this.state, this.cache, ids[i], this.context.length, colsum);
        this.context.push(ids[i]);
        this.uncompressed++;
        each?.(logits, i);
      }
      if (chunk.compress && this.policy.p.evicts) {
        if (!this.policy.budgets) this.policy.setBudgets(this.promptLength + 1, this.colsumLength);
        this.policy.compress(this.cache, this.context.length);
        this.uncompressed = 0;
      }
      await onChunk?.(chunk.end);
    }
    return logits;
  }

  /** Cuts the context back to `length` ids; only the full cache holds its tokens exactly (false otherwise, nothing changed). */
  truncate(length: number): boolean {
    if (this.policy.p.evicts || length > this.context.length) return false;
    for (const layer of this.cache.heads) for (const h of layer) h.truncate(length);
    this.context.length = length;
    if (length === 0) this.reset();
    return true;
  }

  async append(ids: number[], sampling: ResolvedSampling, step: number, signal?: AbortSignal, onChunk?: ChunkCallback): Promise<number> {
    if (ids.length === 0) throw new RangeError('append needs at least one id');
    const logits = await this.feed(ids, signal, undefined, onChunk);
    return sample(logits, sampling, step, this.context);
  }

  async nll(ids: number[], signal?: AbortSignal, promptTokens = 1): Promise<Float64Array> {
    const out = new Float64Array(Math.max(0, ids.length - 1));
    const score = (logits: Float32Array, i: number) => {
      if (i + 1 < ids.length) out[i] = negLogSoftmaxAt(logits, ids[i + 1]);
    };
    const p = Math.max(1, promptTokens);
    await this.feed(ids.slice(0, p), signal, score);
    for (let j = p; j < ids.length; j++) await this.feed([ids[j]], signal, (logits) => score(logits, j));
    return out;
  }

  async kvStats(): Promise<KvStats> {
    return {
      policy: this.policy.p.policy,
      layers: this.cache.heads.map((heads, l) => layerStats(this.policy.budgets?.[l], heads.reduce((s, h) => s + h.length, 0) / heads.length, this.policy.stats[l])),
      kvHeads: this.config.numKvHeads,
      bytesAllocated: this.cache.bytesAllocated(),
      bytesFull: fullCacheBytes(this.config, this.context.length, this.kvDtype),
      bytesFullAllocated: this.cache.bytesAllocatedFor(this.context.length),
      sequenceLength: this.context.length,
    };
  }

  async kvMap(): Promise<KvMap> {
    return { sequenceLength: this.context.length, kvHeads: this.weights.config.numKvHeads, layers: this.cache.heads.map(kvMapLayer) };
  }

  reset(): void {
    this.context.length = 0;
    this.cache = this.newCache();
    this.policy = this.newPolicy();
    this.promptLength = 0;
    this.colsumLength = 0;
    this.uncompressed = 0;
  }

  dispose(): void {}
}
