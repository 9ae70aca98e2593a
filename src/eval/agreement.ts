/**
 * Agreement with the full cache, on the CPU reference: every policy and the full cache are
 * teacher-forced through the same ids in lockstep, so each decode step compares a policy with the
 * full cache at the same position without storing either's history:
 * - top-1: the greedy next token is the full cache's;
 * - KL(full || policy) of the next-token distributions, in nats;
 * - attention mass: the share of the full cache's attention (this step's query, per query head) that
 *   falls on the positions the policy's KV head still holds when it attends.
 * Scored are the decode steps (ids from `promptTokens` on that have a next id), as for perplexity.
 */
import type { CpuWeights } from '../cpu/weights';
import { resolvePolicy, type KvOptions } from '../kv/policy';
import { argmax, klDivergence, mean } from './metrics';
import { logSoftmax } from '../math/log-softmax';
import { ReferenceStepper, type AttentionProbe } from './reference-stepper';
import { throwIfAborted } from '../errors';

export interface Agreement {
  /** Per scored step: the policy's NLL of the next id (equal to Backend.nll's on the CPU). */
  nll: Float64Array;
  top1: number;
  kl: number;
  mass: number;
  /** Attention mass per layer, averaged over steps and query heads. */
  massByLayer: number[];
  /** At the end: budget (hh + recent) of the compressed layers, tokens per KV head (means over layers), evictions and merges. */
  budgetTokens: number | null;
  keptTokens: number;
  evictions: number;
  merges: number;
}

/** One decode step of one stepper; `mass` null for the full cache (all of it, 1 in every layer). */
interface StepResult {
  nll: number;
  top: number;
  kl: number;
  mass: number[] | null;
}

export interface AgreementOptions {
  signal?: AbortSignal;
  /** Called after each decode step with the number done and to do. */
  onStep?: (done: number, total: number) => void;
}

export function agreement(weights: CpuWeights, ids: number[], promptTokens: number, configs: KvOptions[], o: AgreementOptions = {}): Agreement[] {
  const c = weights.config;
  const group = c.numHeads / c.numKvHeads;
  const full = new ReferenceStepper(weights, resolvePolicy());
  // The full cache's own row reuses the reference (its metrics are exact: top-1 1, KL 0, mass 1).
  const runs = configs.map((kv) => (kv.policy === 'full' ? full : new ReferenceStepper(weights, resolvePolicy(kv))));
  const steppers = [...new Set([full, ...runs])];
  const prompt = ids.slice(0, promptTokens);
  for (const s of steppers) s.prefill(prompt);

  const steps = ids.length - 1 - promptTokens;
  const acc = runs.map(() => ({ nll: new Float64Array(Math.max(0, steps)), top1: 0, kl: 0, massByLayer: new Float64Array(c.numLayers) }));
  const probe: AttentionProbe = full.newProbe(ids.length);
  const logFull = new Float64Array(c.vocabSize);
  const logRun = new Float64Array(c.vocabSize);

  for (let t = 0; t < steps; t++) {
    throwIfAborted(o.signal);
    const i = promptTokens + t;
    const next = ids[i + 1];
    logSoftmax(full.forward(ids[i], probe), logFull);
    const reference: StepResult = { nll: -logFull[next], top: argmax(logFull), kl: 0, mass: null };
    const results = new Map([[full, reference]]);
    for (const s of steppers) {
      if (s === full) continue;
      logSoftmax(s.forward(ids[i]), logRun);
      results.set(s, { nll: -logRun[next], top: argmax(logRun), kl: klDivergence(logFull, logRun), mass: keptMass(s, probe, group) });
    }
    runs.forEach((r, k) => {
      const got = results.get(r)!;
      acc[k].nll[t] = got.nll;
      acc[k].kl += got.kl;
      if (got.top === reference.top) acc[k].top1++;
      for (let l = 0; l < c.numLayers; l++) acc[k].massByLayer[l] += got.mass ? got.mass[l] : 1;
    });
    for (const s of steppers) s.compress();
    o.onStep?.(t + 1, steps);
  }
  // The last id too (nothing left to predict), so the cache statistics are those Backend.nll leaves.
  if (ids.length > promptTokens)
    for (const s of steppers) {
      s.forward(ids[ids.length - 1]);
      s.compress();
    }

  return acc.map((a, k) => {
    const massByLayer = Array.from(a.massByLayer, (m) => m / steps);
    return { nll: a.nll, top1: a.top1 / steps, kl: a.kl / steps, mass: mean(massByLayer), massByLayer, ...cacheStats(runs[k]) };
  });
}

function cacheStats(s: ReferenceStepper): Pick<Agreement, 'budgetTokens' | 'keptTokens' | 'evictions' | 'merges'> {
  const budgets = (s.policy.budgets ?? []).filter((b) => b.compress).map((b) => b.hh + b.recent);
  return {
    budgetTokens: budgets.length ? mean(budgets) : null,
    keptTokens: mean(s.cache.heads.map((heads) => mean(heads.map((h) => h.length)))),
    evictions: s.policy.stats.reduce((n, st) => n + st.evictions, 0),
    merges: s.policy.stats.reduce((n, st) => n + st.merges, 0),
  };
}

/** Per layer: the full cache's attention on the positions each KV head of `s` holds, averaged over query heads. */
function keptMass(s: ReferenceStepper, probe: AttentionProbe, group: number): number[] {
  return s.cache.heads.map((heads, l) => {
    let sum = 0;
    heads.forEach((slots, kvh) => {
      for (const slot of slots.occupied()) for (let g = 0; g < group; g++) sum += probe[l][kvh * group + g][slots.pos[slot]];
    });
    return sum / probe[l].length;
  });
}
