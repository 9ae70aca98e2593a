/**
 * Puts a WebGPU backend in the state a `context`-token history leaves behind, without running it
 * (prefilling 8,192 tokens at real shapes on a software adapter would take an hour; decode speed
 * does not depend on the values):
 * - full cache: `context` slots marked live;
 * - a policy: budgets set as after a `context`-token prompt, and every KV head holding what a
 *   compressed cache holds then (the sinks, heavy hitters spread over the history, the recent
 *   window), with random keys, values and scores, so each decode step selects, compares, merges and
 *   evicts as in generation.
 * KV pages are reserved for the whole timed run first, so the pools hold what the run needs and no
 * geometric growth step (up to 2x) inflates the memory reported.
 */
import type { WebGpuBackend } from '../src/gpu/backend';
import { SINKS } from '../src/kv/policy';
import { randomFloats } from '../test/cases/random';
import { markFilled, writeHead } from '../test/helpers/kv-cache';

export async function writeHistory(backend: WebGpuBackend, context: number, decodeTokens: number, ids: number[]): Promise<void> {
  const f = backend.forward;
  const policy = f.policy;
  backend.context.push(...ids);
  if (!policy) {
    f.kv.highWater = context + decodeTokens;
    markFilled(f.kv, context);
    return;
  }
  // The budgets a `context`-token prompt gets (d2o: from the prompt's attention variance, which a
  // written history has none of, so every layer gets the average budget, as with h2o).
  await policy.setBudgets(context + 1, context);
  const budgets = policy.budgets!;
  const live = budgets.map((b) => (b.compress ? Math.min(context, b.hh + b.recent) : context));
  // A step appends one token before it evicts one.
  f.kv.reserve(live.map((n) => n + 1));
  const { numKvHeads, headDim } = f.kv.o;
  budgets.forEach((b, l) => {
    const n = live[l];
    const recent = Math.min(b.recent, n);
    const heavy = n - recent;
    // Sinks first, then heavy hitters spread evenly over the older history, then the recent window.
    const older = context - recent;
    const pos = Array.from({ length: n }, (_, s) => (s < Math.min(SINKS, heavy) ? s : s < heavy ? SINKS + Math.floor(((s - SINKS) * (older - SINKS)) / Math.max(1, heavy - SINKS)) : older + (s - heavy)));
    for (let h = 0; h < numKvHeads; h++) {
      const seed = 1 + l * numKvHeads + h;
      writeHead(f.kv, l, h, { pos, keys: randomFloats(n * headDim, seed), values: randomFloats(n * headDim, seed + 7919), score: randomFloats(n, seed + 104729).map(Math.abs) });
    }
    policy.liveBound[l] = n;
  });
}
