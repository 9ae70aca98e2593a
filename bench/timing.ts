/**
 * Decode timing on a shared machine: the best of a few rounds, since another process taking the
 * cores only ever slows a round down (the best round is the closest to what the code itself does).
 */
export async function bestTokS(rounds: number, tokens: number, step: () => Promise<void>): Promise<number> {
  let best = 0;
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    for (let i = 0; i < tokens; i++) await step();
    best = Math.max(best, tokens / ((performance.now() - t0) / 1000));
  }
  return best;
}
