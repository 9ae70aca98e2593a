/**
 * The KV statistics and map must add up, whatever the backend: per layer the positions held
 * (averaged over KV heads) plus those evicted are the sequence length, the map's per-position head
 * counts sum to the held figure, and the full cache's allocation is what a full cache reports.
 * Runs a backend (already created with its policy) through a prompt and greedy steps, checking
 * after each of them; returns every violation found (none expected) and a few figures.
 */
import type { Backend } from '../../src/backend/backend';
import { resolveSampling } from '../../src/backend/sampling';
import type { KvMap, KvStats } from '../../src/kv/stats';

export interface StatsRun {
  violations: string[];
  /** bytesFullAllocated after each check, with the sequence length. */
  fullAllocated: { sequenceLength: number; bytes: number; allocated: number }[];
  evicted: number;
  merged: number;
}

export function statsViolations(s: KvStats, m: KvMap): string[] {
  const out: string[] = [];
  const n = s.sequenceLength;
  if (m.sequenceLength !== n) out.push(`map length ${m.sequenceLength} != stats ${n}`);
  if (m.kvHeads !== s.kvHeads) out.push(`map kvHeads ${m.kvHeads} != stats ${s.kvHeads}`);
  s.layers.forEach((l, i) => {
    const ml = m.layers[i];
    const at = `layer ${i} at ${n}`;
    if (Math.abs(l.occupancy + l.evictions / s.kvHeads - n) > 1e-9) out.push(`${at}: held ${l.occupancy} + evicted ${l.evictions / s.kvHeads} != ${n}`);
    if (l.merges > l.evictions) out.push(`${at}: ${l.merges} merged > ${l.evictions} evicted`);
    const heldOnMap = ml.keptHeads.reduce((a, b) => a + b, 0) / m.kvHeads;
    if (Math.abs(heldOnMap - l.occupancy) > 1e-9) out.push(`${at}: map holds ${heldOnMap}, stats ${l.occupancy}`);
    if (ml.keptHeads.length !== ml.kept.length || ml.mergedHeads.length !== ml.merged.length) out.push(`${at}: head counts not parallel to positions`);
    if (ml.keptHeads.some((h) => h < 1 || h > m.kvHeads)) out.push(`${at}: a kept position held by ${Math.max(...ml.keptHeads)} of ${m.kvHeads} heads`);
    ml.merged.forEach((p, j) => {
      const k = ml.kept.indexOf(p);
      if (k < 0 || ml.mergedHeads[j] > ml.keptHeads[k]) out.push(`${at}: merged position ${p} not kept by as many heads`);
    });
    if (ml.kept.some((p) => p < 0 || p >= n)) out.push(`${at}: a kept position outside the sequence`);
  });
  return out;
}

export async function runStats(b: Backend, prompt: number[], steps: number, every = 1): Promise<StatsRun> {
  const greedy = resolveSampling({ greedy: true });
  const r: StatsRun = { violations: [], fullAllocated: [], evicted: 0, merged: 0 };
  const check = async () => {
    const [s, m] = [await b.kvStats(), await b.kvMap()];
    r.violations.push(...statsViolations(s, m));
    r.fullAllocated.push({ sequenceLength: s.sequenceLength, bytes: s.bytesFullAllocated, allocated: s.bytesAllocated });
    r.evicted = s.layers.reduce((a, l) => a + l.evictions / s.kvHeads, 0);
    r.merged = s.layers.reduce((a, l) => a + l.merges / s.kvHeads, 0);
  };
  let next = await b.append(prompt, greedy, 0);
  await check();
  for (let step = 1; step <= steps; step++) {
    next = await b.append([next], greedy, step);
    if (step % every === 0 || step === steps) await check();
  }
  return r;
}
