/** Log-softmax in float64, shared by both backends' scoring and the evaluation metrics. */

/** log(sum(exp(x))), shifted by the maximum so that no term overflows. */
export function logSumExp(x: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) if (x[i] > max) max = x[i];
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += Math.exp(x[i] - max);
  return max + Math.log(sum);
}

/** -log p(id) under softmax(logits): one token's negative log-likelihood. */
export function negLogSoftmaxAt(logits: ArrayLike<number>, id: number): number {
  return logSumExp(logits) - logits[id];
}

/** log softmax of `logits` into `out` (allocated when not given). */
export function logSoftmax(logits: ArrayLike<number>, out = new Float64Array(logits.length)): Float64Array {
  const lse = logSumExp(logits);
  for (let i = 0; i < logits.length; i++) out[i] = logits[i] - lse;
  return out;
}
