/** Per-step comparisons of next-token distributions, in float64 (logits are float32). */
/** The greedy sampler's own argmax (lowest id on ties), so "top-1" is what greedy decoding picks. */
export { argmax } from '../cpu/sampler';

/** KL(p || q) for log-probabilities `logP`, `logQ`: what is lost predicting with q where p is right. */
export function klDivergence(logP: Float64Array, logQ: Float64Array): number {
  let kl = 0;
  for (let i = 0; i < logP.length; i++) {
    const p = Math.exp(logP[i]);
    if (p > 0) kl += p * (logP[i] - logQ[i]);
  }
  // Rounding can leave a tiny negative for identical distributions.
  return Math.max(0, kl);
}

export function mean(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return x.length ? s / x.length : NaN;
}

/** Means of consecutive windows of `size` (the last one may be shorter). */
export function windowMeans(x: ArrayLike<number>, size: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < x.length; i += size) out.push(mean(Array.prototype.slice.call(x, i, i + size) as number[]));
  return out;
}
