/**
 * The CPU reference stepped as CpuBackend.nll feeds it (the prompt as one prefill, then one decode
 * step per id, compressed after), exposing what the Backend interface hides and the agreement
 * metrics need: each step's logits, the positions every KV head holds when a step attends, and the
 * attention probabilities of a step. test/unit/eval-smoke.test.ts checks its NLL equals
 * CpuBackend.nll's, so the two cannot drift apart unnoticed.
 */
import { forward, RunState } from '../cpu/forward';
import { CpuKvCache } from '../cpu/kv-cache';
import { CpuKvPolicy } from '../cpu/kv-policy';
import type { CpuWeights } from '../cpu/weights';
import type { ResolvedPolicy } from '../kv/policy';

/** probe[layer][queryHead][position]: one step's attention probabilities (zeroed by the stepper). */
export type AttentionProbe = number[][][];

export class ReferenceStepper {
  readonly cache: CpuKvCache;
  readonly policy: CpuKvPolicy;
  private readonly state: RunState;
  /** Ids fed so far (the next position). */
  length = 0;
  private promptLength = 0;

  constructor(
    private readonly weights: CpuWeights,
    policy: ResolvedPolicy,
  ) {
    const c = weights.config;
    this.state = new RunState(weights);
    this.cache = new CpuKvCache(c.numLayers, c.numKvHeads, c.headDim);
    this.policy = new CpuKvPolicy(policy, c.numLayers, c.numHeads);
  }

  /** The prompt, one prefill (its column sums feed d2o's layer budgets); `each` sees every id's logits. */
  prefill(ids: number[], each?: (logits: Float32Array, i: number) => void): void {
    if (this.length !== 0) throw new Error('prefill comes first');
    ids.forEach((id, i) => {
      const logits = forward(this.weights, this.state, this.cache, id, this.length++, this.policy.colsum ?? undefined);
      each?.(logits, i);
    });
    this.promptLength = ids.length;
  }

  /**
   * The forward pass of one decode step; the returned logits are valid until the next call. With
   * `probe`, the step's attention probabilities are written into it: a single query's column sums
   * are its probabilities. The cache then holds exactly what the step attended, until `compress`.
   */
  forward(id: number, probe?: AttentionProbe): Float32Array {
    if (probe) for (const layer of probe) for (const head of layer) head.fill(0, 0, this.length + 1);
    return forward(this.weights, this.state, this.cache, id, this.length++, probe);
  }

  /** The policy's compression after a decode step, as CpuBackend does after every call but the prefill. */
  compress(): void {
    if (!this.policy.p.evicts) return;
    if (!this.policy.budgets) this.policy.setBudgets(this.length, this.promptLength);
    this.policy.compress(this.cache, this.length);
  }

  /** An empty probe for sequences up to `maxLength`. */
  newProbe(maxLength: number): AttentionProbe {
    const c = this.weights.config;
    return Array.from({ length: c.numLayers }, () => Array.from({ length: c.numHeads }, () => new Array<number>(maxLength).fill(0)));
  }
}
