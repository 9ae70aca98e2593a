/**
 * Decode speed and KV memory of full, streaming, h2o and d2o against context length at one budget,
 * on the WebGPU backend: for each context a fresh backend holding that history (bench/policy-state.ts),
 * one untimed step, then the best of `rounds` rounds of `decodeTokens` timed steps (each a forward
 * pass plus the policy's eviction and merge kernels). Each policy's ratio to the full cache is taken
 * within the same run; a model's context limit is raised where a history passes it.
 */
import { WebGpuBackend } from '../src/gpu/backend';
import type { GpuContext } from '../src/gpu/device';
import { resolveSampling } from '../src/backend/sampling';
import { resolvePolicy, type Budget, type PolicyName } from '../src/kv/policy';
import type { ModelDescription } from '../src/model/types';
import { writeHistory } from './policy-state';
import { bestTokS } from './timing';

export const BENCH_POLICIES: PolicyName[] = ['full', 'streaming', 'h2o', 'd2o'];

export interface PolicyRow {
  model: string;
  dtype: string;
  policy: PolicyName;
  context: number;
  /** Timed steps per round, and rounds (the best is kept). */
  decodeTokens: number;
  rounds: number;
  decodeTokS: number;
  /** KV bytes on the GPU: pools, slot tables, scores and the policy's own buffers. */
  kvMiB: number;
  /** Tokens each KV head holds (mean over layers). */
  keptTokens: number;
  /** decode tok/s and KV MiB over the full cache's at the same context, same run. */
  speedVsFull: number | null;
  memoryVsFull: number | null;
}

const greedy = resolveSampling({ greedy: true });

export async function benchPolicies(ctx: GpuContext, name: string, dtype: string, model: ModelDescription, contexts: number[], timing: { decodeTokens: number; rounds: number }, budget: Budget, log: (row: PolicyRow) => void): Promise<PolicyRow[]> {
  const { decodeTokens, rounds } = timing;
  const vocab = model.config.vocabSize;
  const ids = (n: number) => Array.from({ length: n }, (_, i) => (i * 7919 + 3) % vocab);
  const rows: PolicyRow[] = [];
  for (const context of contexts) {
    // The full cache stops at the model's context; speed and memory do not depend on that limit, so
    // it is raised to hold the history and the timed steps (stated in the report).
    const room = context + rounds * decodeTokens + 2;
    const config = { ...model.config, maxPositionEmbeddings: Math.max(model.config.maxPositionEmbeddings, room) };
    for (const policy of BENCH_POLICIES) {
      const backend = await WebGpuBackend.create({ ...model, config }, { ctx, policy: resolvePolicy({ policy, budget }) });
      try {
        await writeHistory(backend, context, rounds * decodeTokens + 1, ids(context));
        let next = await backend.append([1], greedy, 0);
        const decodeTokS = await bestTokS(rounds, decodeTokens, async () => void (next = await backend.append([next], greedy, backend.context.length)));
        const policyBytes = backend.forward.policy?.bytes() ?? 0;
        const stats = await backend.kvStats();
        const full = rows.find((r) => r.model === name && r.dtype === dtype && r.context === context && r.policy === 'full');
        const row: PolicyRow = {
          model: name,
          dtype,
          policy,
          context,
          decodeTokens,
          rounds,
          decodeTokS,
          kvMiB: (backend.forward.kv.bytes() + policyBytes) / 2 ** 20,
          keptTokens: stats.layers.reduce((s, l) => s + l.occupancy, 0) / stats.layers.length,
          speedVsFull: null,
          memoryVsFull: null,
        };
        if (full) {
          row.speedVsFull = row.decodeTokS / full.decodeTokS;
          row.memoryVsFull = row.kvMiB / full.kvMiB;
        } else if (policy === 'full') [row.speedVsFull, row.memoryVsFull] = [1, 1];
        rows.push(row);
        log(row);
      } finally {
        backend.dispose();
      }
    }
  }
  return rows;
}
