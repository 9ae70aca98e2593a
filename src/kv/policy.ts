/**
 * KV cache policies (../shared/docs/d2o-spec.md section 5) behind one description, read by both
 * the CPU reference and the GPU. A policy only decides budgets and switches; the rules they drive
 * (eviction, merging) are the same code path for all of them.
 */
import { argumentError, checkNumber } from '../util/range-checks';

export type PolicyName = 'full' | 'streaming' | 'h2o' | 'd2o' | 'd2o-no-merge' | 'd2o-uniform' | 'pyramidkv';

export const POLICIES: readonly PolicyName[] = ['full', 'streaming', 'h2o', 'd2o', 'd2o-no-merge', 'd2o-uniform', 'pyramidkv'];

export type Budget = { kind: 'ratio'; ratio: number } | { kind: 'tokens'; tokens: number };

/** The KV options as a user gives them (engine, worker, CLI, evaluation); `resolvePolicy` checks them once. */
export interface KvOptions {
  /** Default 'full'. */
  policy?: PolicyName;
  /**
   * A fraction of the prompt (as the paper) or an average number of tokens per layer: 64 or "64"
   * tokens, "20%" of the prompt.
   */
  budget?: number | string | Budget;
  /** Share of the budget for heavy hitters vs the recent window (reference: 0.1 + 0.1). */
  hhRatio?: number;
  recentRatio?: number;
  /** EMA of the merge threshold: tau = alpha * tau + beta * mean(u). */
  alpha?: number;
  beta?: number;
  /**
   * Layers never compressed: indices, or 'reference' for layers 0, 1 and L - 1 as the official D2O
   * code (default none: on a small model those three are most of it).
   */
  protectedLayers?: number[] | 'reference';
  /**
   * How an evicted token's merge is decided (d2o, d2o-uniform): 'head' (default) compares each KV
   * head's own best similarity with the threshold; 'mean' compares the mean over the layer's heads of
   * the best similarities of their k-th victims, as the official code does, and merges in every head
   * when it passes.
   */
  mergeDecision?: MergeDecision;
}

export type MergeDecision = 'head' | 'mean';

export interface ResolvedPolicy {
  policy: PolicyName;
  budget: Budget;
  hhRatio: number;
  recentRatio: number;
  alpha: number;
  beta: number;
  protectedLayers: number[] | 'reference';
  mergeDecision: MergeDecision;
  /** Budgets per layer from attention variance (d2o, d2o-no-merge) or uniform. */
  varianceBudgets: boolean;
  /** PyramidKV: budgets decreasing linearly with depth (H2O eviction, no merging). */
  pyramid: boolean;
  merge: boolean;
  /** StreamingLLM: the sinks and the newest tokens, scores ignored. */
  streaming: boolean;
  evicts: boolean;
}

/** Attention sinks: the first positions are never evicted. */
export const SINKS = 4;

/**
 * Checks the user's options and fills the defaults, once, where they enter (engine, CLI,
 * evaluation); everything below takes the result. Throws RangeError on an unknown policy or an
 * impossible budget, before anything loads.
 */
export function resolvePolicy(o: KvOptions = {}): ResolvedPolicy {
  const policy = o.policy ?? 'full';
  if (!POLICIES.includes(policy)) throw new RangeError(`the policy must be one of ${POLICIES.join(', ')}, got ${String(policy)}`);
  checkNumber(o.hhRatio, 'hhRatio', { min: 0, max: 1 });
  checkNumber(o.recentRatio, 'recentRatio', { min: 0, max: 1 });
  checkNumber(o.alpha, 'alpha', { min: 0, max: 1 });
  checkNumber(o.beta, 'beta', { min: 0, max: 1 });
  if (o.protectedLayers !== undefined && o.protectedLayers !== 'reference' && !Array.isArray(o.protectedLayers)) throw argumentError('protectedLayers', "an array of layer indices or 'reference'", o.protectedLayers);
  if (o.mergeDecision !== undefined && o.mergeDecision !== 'head' && o.mergeDecision !== 'mean') throw argumentError('mergeDecision', "'head' or 'mean'", o.mergeDecision);
  if (Array.isArray(o.protectedLayers)) o.protectedLayers.forEach((l, i) => checkNumber(l, `protectedLayers[${i}]`, { min: 0, max: 2 ** 31 - 1, integer: true }));
  const hhRatio = o.hhRatio ?? 0.1;
  const recentRatio = o.recentRatio ?? 0.1;
  if (!(hhRatio + recentRatio > 0 && hhRatio + recentRatio <= 1)) throw argumentError('hhRatio + recentRatio', 'in (0, 1]', hhRatio + recentRatio);
  const given = o.budget === undefined || typeof o.budget === 'object' ? o.budget : parseBudget(String(o.budget));
  if (given !== undefined && (given === null || (given.kind !== 'ratio' && given.kind !== 'tokens'))) throw argumentError('budget', 'a number of tokens, "R%", or { kind, ... }', given);
  const budget = given ?? { kind: 'ratio', ratio: hhRatio + recentRatio };
  if (budget.kind === 'ratio' && !(budget.ratio > 0 && budget.ratio <= 1)) throw new RangeError(`a budget ratio must be in (0, 1], got ${budget.ratio}`);
  if (budget.kind === 'tokens' && !(Number.isInteger(budget.tokens) && budget.tokens > SINKS)) throw new RangeError(`a token budget must be an integer above ${SINKS}, got ${budget.tokens}`);
  return {
    policy,
    budget,
    // A budget given as a ratio rescales the heavy-hitter/recent split to sum to it.
    hhRatio: budget.kind === 'ratio' ? (budget.ratio * hhRatio) / (hhRatio + recentRatio) : hhRatio,
    recentRatio: budget.kind === 'ratio' ? (budget.ratio * recentRatio) / (hhRatio + recentRatio) : recentRatio,
    alpha: o.alpha ?? 0.5,
    beta: o.beta ?? 0.5,
    protectedLayers: o.protectedLayers ?? [],
    mergeDecision: o.mergeDecision ?? 'head',
    varianceBudgets: policy === 'd2o' || policy === 'd2o-no-merge',
    pyramid: policy === 'pyramidkv',
    merge: policy === 'd2o' || policy === 'd2o-uniform',
    streaming: policy === 'streaming',
    evicts: policy !== 'full',
  };
}

/** "64" is 64 tokens per layer on average, "20%" a fifth of the prompt. */
export function parseBudget(text: string): Budget {
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(text.trim());
  if (!m) throw new RangeError(`a budget is N (tokens) or R% (of the prompt), got ${JSON.stringify(text)}`);
  return m[2] ? { kind: 'ratio', ratio: Number(m[1]) / 100 } : { kind: 'tokens', tokens: Number(m[1]) };
}
