/**
 * Chunked prefill under a KV policy: how one call's ids are fed, the same on the CPU reference and
 * the GPU. A call is cut into chunks of at most `chunk` ids; after each chunk the policy compresses
 * the cache back to its budget, so a layer never holds more than its budget plus one chunk (and the
 * token being decoded), whatever the prompt's length.
 *
 * - The first chunk of the first call (the prompt) gathers the attention column sums that fix the
 *   layer budgets (d2o-spec.md section 2), which are set just before the first compression. In
 *   ratio mode the budget is a fraction of the whole prompt, whose length is known before prefill.
 * - The prompt's last chunk is not compressed: the first decoded token joins it and the two are
 *   compressed together, so a prompt that fits one chunk behaves exactly as the paper's one-shot
 *   prefill (`chunk = Infinity` makes every prompt one chunk).
 * - Every later call (a decoded token, a later turn) is compressed after each of its chunks; its
 *   first chunk is cut short so that, with the `pending` ids not compressed yet (the prompt's last
 *   chunk), at most a chunk plus one token is ever uncompressed.
 */
export interface Chunk {
  start: number;
  end: number;
  /** Gather the column sums that set the layer budgets (the prompt's first chunk). */
  colsum: boolean;
  /** Compress the cache after this chunk. */
  compress: boolean;
}

export const DEFAULT_PREFILL_CHUNK = 512;

/**
 * The chunks of a call of `n` ids appended to `held` ids already in the context, `pending` of which
 * are not compressed yet.
 */
export function planChunks(n: number, held: number, chunk: number, pending = 0): Chunk[] {
  if (!(chunk >= 1)) throw new RangeError(`the prefill chunk must be at least 1 token (got ${chunk})`);
  const prompt = held === 0;
  const out: Chunk[] = [];
  for (let start = 0; start < n; ) {
    const size = start === 0 && !prompt ? Math.max(1, chunk + 1 - pending) : chunk;
    const end = Math.min(n, start + size);
    out.push({ start, end, colsum: prompt && start === 0, compress: !(prompt && end === n) });
    start = end;
  }
  return out;
}

/** Validates a `prefillChunk` option (a positive integer, or Infinity for one-shot prefill). */
export function resolvePrefillChunk(chunk: number | undefined): number {
  const c = chunk ?? DEFAULT_PREFILL_CHUNK;
  if (!(c === Infinity || (Number.isInteger(c) && c >= 1))) throw new RangeError(`prefillChunk must be a positive integer or Infinity (one-shot prefill), got ${chunk}`);
  return c;
}
