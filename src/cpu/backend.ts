/** The CPU reference as a selectable backend, with every KV policy. */
import type { Backend } from '../backend/backend';
import type { ResolvedSampling } from '../backend/sampling';
import type { ModelDescription } from '../model/types';
import { throwIfAborted } from '../errors';
import { resolvePolicy, type ResolvedPolicy } from '../kv/policy';
import { fullCacheBytes, kvMapLayer, layerStats, type KvMap, type KvStats } from '../kv/stats';
import { negLogSoftmaxAt } from '../math/log-softmax';
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
  /** Most ids a call after the prefill appends (as the GPU's prefill chunk, so both compress alike). */
  turnChunk?: number;
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

  constructor(
    model: ModelDescription,
    private readonly o: CpuBackendOptions = {},
  ) {
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

  get maxPrompt(): number {
    return this.maxContext;
  }

  get turnChunk(): number {
    return this.o.turnChunk ?? 32;
  }

  private newCache(): CpuKvCache {
    const c = this.weights.config;
    return new CpuKvCache(c.numLayers, c.numKvHeads, c.headDim);
  }

  private newPolicy(): CpuKvPolicy {
    return new CpuKvPolicy(this.o.policy ?? resolvePolicy(), this.weights.config.numLayers, this.weights.config.numHeads);
  }

  /**
   * Runs one call's ids; the first call is the prefill (its column sums feed the budgets), every
   * later call (a decoded token or another turn's chunk) is followed by the policy's compression.
   */
  private async feed(ids: number[], signal: AbortSignal | undefined, each?: (logits: Float32Array, i: number) => void): Promise<Float32Array> {
    const prefill = this.context.length === 0;
    let logits!: Float32Array;
    for (let i = 0; i < ids.length; i++) {
      // The forward pass is synchronous: without a macrotask now and then, no timer, abort or
      // page event could run until the whole generation ended.
      if (performance.now() - this.lastYield > YIELD_MS) {
        await yieldToEventLoop();
        this.lastYield = performance.now();
      }
      throwIfAborted(signal);
      logits = forward(this.weights, this.state, this.cache, ids[i], this.context.length, prefill ? (this.policy.colsum ?? undefined) : undefined);
      this.context.push(ids[i]);
      each?.(logits, i);
    }
    if (prefill) this.promptLength = ids.length;
    else if (this.policy.p.evicts) {
      if (!this.policy.budgets) this.policy.setBudgets(this.context.length, this.promptLength);
      this.policy.compress(this.cache, this.context.length);
    }
    return logits;
  }

  async append(ids: number[], sampling: ResolvedSampling, step: number, signal?: AbortSignal): Promise<number> {
    if (ids.length === 0) throw new RangeError('append needs at least one id');
    const logits = await this.feed(ids, signal);
    return sample(logits, sampling, step, this.context);
  }

  async nll(ids: number[], signal?: AbortSignal, promptTokens = 1): Promise<Float64Array> {
    const out = new Float64Array(Math.max(0, ids.length - 1));
    const score = (logits: Float32Array, i: number) => {
      if (i + 1 < ids.length) out[i] = negLogSoftmaxAt(logits, ids[i + 1]);
    };
    const p = Math.max(1, promptTokens);
    await this.feed(ids.slice(0, p), signal, score);
    for (let j = 0; p + j < ids.length; j++) await this.feed([ids[p + j]], signal, (logits) => score(logits, p + j));
    return out;
  }

  async kvStats(): Promise<KvStats> {
    return {
      policy: this.policy.p.policy,
      layers: this.cache.heads.map((heads, l) => layerStats(this.policy.budgets?.[l], heads.reduce((s, h) => s + h.length, 0) / heads.length, this.policy.stats[l])),
      kvHeads: this.config.numKvHeads,
      bytesAllocated: this.cache.bytesAllocated(),
      bytesFull: fullCacheBytes(this.config, this.context.length),
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
  }

  dispose(): void {}
}
