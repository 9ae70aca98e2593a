/**
 * The reference sampler. Its rules are chosen so a GPU can follow them exactly without sorting:
 * top-k and top-p keep every token whose probability reaches a threshold, and the draw walks the
 * kept tokens in id order.
 */
import { uniformAt, type ResolvedSampling } from '../backend/sampling';

/** Applies the repetition penalty to `logits` in place for the ids in `recent`. */
export function applyRepetitionPenalty(logits: Float32Array, recent: Iterable<number>, penalty: number): void {
  if (penalty === 1) return;
  for (const id of new Set(recent)) {
    const x = logits[id];
    logits[id] = x > 0 ? x / penalty : x * penalty;
  }
}

/** Index of the largest value, the lowest index on ties. */
export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

/**
 * Draws the next id from `logits` (not modified) for decode step `step`; `recent` are the context
 * ids the repetition penalty applies to.
 */
export function sample(logits: Float32Array, o: ResolvedSampling, step: number, recent: number[]): number {
  const x = Float32Array.from(logits);
  applyRepetitionPenalty(x, recent.slice(-o.repetitionWindow), o.repetitionPenalty);
  if (o.greedy) return argmax(x);

  const n = x.length;
  const p = new Float64Array(n);
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, x[i] / o.temperature);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += p[i] = Math.exp(x[i] / o.temperature - max);
  for (let i = 0; i < n; i++) p[i] /= sum;

  const sorted = Float64Array.from(p).sort().reverse();
  let threshold = 0;
  if (o.topK > 0 && o.topK < n) threshold = sorted[o.topK - 1];
  if (o.topP < 1) {
    let cum = 0;
    for (let i = 0; i < n && sorted[i] >= threshold; i++) {
      cum += sorted[i];
      if (cum >= o.topP) {
        threshold = Math.max(threshold, sorted[i]);
        break;
      }
    }
  }

  let kept = 0;
  for (let i = 0; i < n; i++) if (p[i] >= threshold) kept += p[i];
  const r = uniformAt(o.seed, step) * kept;
  let cum = 0;
  let last = 0;
  for (let i = 0; i < n; i++) {
    if (p[i] < threshold) continue;
    cum += p[i];
    last = i;
    if (cum > r) return i;
  }
  return last;
}
