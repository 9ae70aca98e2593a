/**
 * The quality evaluation of one model on one text: every policy at every budget, agreement with the
 * full cache on the CPU reference (all policies in lockstep), and perplexity either from that same
 * pass or through a Backend (any backend: the CPU one, WebGPU in Node or in a page), which also
 * checks the backend against the reference step by step. Browser-safe: no Node imports, so a page
 * runs the same code (bench/eval-page/).
 */
import type { CpuWeights } from '../cpu/weights';
import type { Budget, KvOptions, PolicyName } from '../kv/policy';
import { agreement } from './agreement';
import { mean, windowMeans } from './metrics';
import { decodeNll, type BackendFactory } from './perplexity';

export interface EvalConfig {
  policy: PolicyName;
  /** null for the full cache (no budget). */
  budget: Budget | null;
}

export interface EvalRow {
  policy: PolicyName;
  /** "20%" (of the prompt) or "64" (tokens per layer on average); "" for the full cache. */
  budget: string;
  budgetKind: Budget['kind'] | null;
  /** Budget tokens per layer as set after the prompt (mean over layers; null for the full cache). */
  budgetTokens: number | null;
  perplexity: number;
  meanNll: number;
  /** Mean NLL over consecutive windows of `windowTokens` scored ids. */
  nllWindows: number[];
  top1: number;
  kl: number;
  attentionMass: number;
  attentionMassByLayer: number[];
  /** Tokens held per layer at the end (mean over layers and KV heads). */
  keptTokens: number;
  evictions: number;
  merges: number;
  /** max |Backend NLL - reference NLL| (0 on the CPU backend, float32 rounding on the GPU); null without a backend pass. */
  referenceNllDiff: number | null;
  /** The perplexity pass through the backend (0 without one). */
  seconds: number;
}

export interface ModelEval {
  model: string;
  tokens: number;
  promptTokens: number;
  scoredTokens: number;
  windowTokens: number;
  /** The lockstep agreement pass over every configuration at once. */
  agreementSeconds: number;
  rows: EvalRow[];
}

export interface EvaluateOptions {
  model: string;
  /** The model's weights as the CPU reference holds them (agreement runs there). */
  weights: CpuWeights;
  /** Perplexity through these backends; without, from the reference pass (the CPU backend's NLL exactly). */
  makeBackend?: BackendFactory;
  ids: number[];
  promptTokens: number;
  configs: EvalConfig[];
  windowTokens?: number;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

export const budgetLabel = (b: Budget | null): string => (b === null ? '' : b.kind === 'ratio' ? `${+(b.ratio * 100).toFixed(2)}%` : String(b.tokens));

/** The full cache once, then every other policy at every budget. */
export function evalGrid(policies: readonly PolicyName[], budgets: Budget[]): EvalConfig[] {
  return policies.flatMap((policy): EvalConfig[] => (policy === 'full' ? [{ policy, budget: null }] : budgets.map((budget) => ({ policy, budget }))));
}

const kvOptions = (c: EvalConfig): KvOptions => (c.budget ? { policy: c.policy, budget: c.budget } : { policy: c.policy });

export async function evaluate(o: EvaluateOptions): Promise<ModelEval> {
  const log = o.log ?? (() => {});
  const windowTokens = o.windowTokens ?? 256;
  const t0 = performance.now();
  log(`${o.model}: agreement of ${o.configs.length} configurations in lockstep on the CPU reference`);
  let shown = 0;
  const agreements = agreement(o.weights, o.ids, o.promptTokens, o.configs.map(kvOptions), {
    signal: o.signal,
    onStep: (done, total) => {
      if (done < total && done / total < shown + 0.25) return;
      shown = done / total;
      log(`  step ${done}/${total} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    },
  });
  const agreementSeconds = (performance.now() - t0) / 1000;
  const rows: EvalRow[] = [];
  for (const [k, config] of o.configs.entries()) {
    const t1 = performance.now();
    const a = agreements[k];
    const nll = o.makeBackend ? await decodeNll(o.makeBackend, o.ids, o.promptTokens, kvOptions(config), o.signal) : a.nll;
    const meanNll = mean(nll);
    const r: EvalRow = {
      policy: config.policy,
      budget: budgetLabel(config.budget),
      budgetKind: config.budget?.kind ?? null,
      budgetTokens: a.budgetTokens,
      perplexity: Math.exp(meanNll),
      meanNll,
      nllWindows: windowMeans(nll, windowTokens),
      top1: a.top1,
      kl: a.kl,
      attentionMass: a.mass,
      attentionMassByLayer: a.massByLayer,
      keptTokens: a.keptTokens,
      evictions: a.evictions,
      merges: a.merges,
      referenceNllDiff: o.makeBackend ? nll.reduce((m, x, i) => Math.max(m, Math.abs(x - a.nll[i])), 0) : null,
      seconds: (performance.now() - t1) / 1000,
    };
    rows.push(r);
    log(`  ${r.policy} ${r.budget || 'full'}: ppl ${r.perplexity.toFixed(3)}, top-1 ${r.top1.toFixed(3)}, KL ${r.kl.toFixed(4)}, mass ${r.attentionMass.toFixed(3)}`);
  }
  return { model: o.model, tokens: o.ids.length, promptTokens: o.promptTokens, scoredTokens: o.ids.length - 1 - o.promptTokens, windowTokens, agreementSeconds, rows };
}
