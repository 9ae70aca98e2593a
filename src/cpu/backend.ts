/** The CPU reference as a selectable backend. */
import type { Backend } from '../engine/backend';
import type { ResolvedSampling } from '../engine/sampling';
import type { ModelDescription } from '../model/types';
import { throwIfAborted } from '../errors';
import { cpuWeights, type CpuWeights } from './weights';
import { CpuKvCache } from './kv-cache';
import { forward, RunState } from './forward';
import { sample } from './sampler';

export class CpuBackend implements Backend {
  readonly name = 'cpu' as const;
  readonly context: number[] = [];
  private readonly weights: CpuWeights;
  private readonly state: RunState;
  private cache: CpuKvCache;

  constructor(model: ModelDescription) {
    this.weights = cpuWeights(model);
    this.state = new RunState(this.weights);
    this.cache = this.newCache();
  }

  get config() {
    return this.weights.config;
  }

  private newCache(): CpuKvCache {
    const c = this.weights.config;
    return new CpuKvCache(c.numLayers, c.numKvHeads, c.headDim);
  }

  private step(id: number): Float32Array {
    const logits = forward(this.weights, this.state, this.cache, id, this.context.length);
    this.context.push(id);
    return logits;
  }

  async append(ids: number[], sampling: ResolvedSampling, step: number, signal?: AbortSignal): Promise<number> {
    let logits: Float32Array | undefined;
    for (const id of ids) {
      throwIfAborted(signal);
      logits = this.step(id);
    }
    if (!logits) throw new RangeError('append needs at least one id');
    return sample(logits, sampling, step, this.context);
  }

  async nll(ids: number[], signal?: AbortSignal): Promise<Float64Array> {
    const out = new Float64Array(Math.max(0, ids.length - 1));
    for (let i = 0; i < ids.length; i++) {
      throwIfAborted(signal);
      const logits = this.step(ids[i]);
      if (i + 1 < ids.length) out[i] = negLogSoftmaxAt(logits, ids[i + 1]);
    }
    return out;
  }

  reset(): void {
    this.context.length = 0;
    this.cache = this.newCache();
  }

  dispose(): void {}
}

export function negLogSoftmaxAt(logits: Float32Array, id: number): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  return Math.log(sum) + max - logits[id];
}
