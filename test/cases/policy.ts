/**
 * A KV policy on the GPU vs its CPU reference, step by step: after every prefill chunk and every
 * decode step the kept slots, positions, scores, merged K/V and thresholds must agree. Both are fed
 * the same ids (the CPU's greedy choice), so one flipped argmax cannot desynchronise the comparison.
 */
import type { GpuContext } from '../../src/gpu/device';
import type { KernelVariant } from '../../src/gpu/variant';
import { loadModel } from '../../src/model/load';
import { WebGpuBackend } from '../../src/gpu/backend';
import { CpuBackend } from '../../src/cpu/backend';
import { resolveSampling } from '../../src/backend/sampling';
import { resolvePolicy, type KvOptions } from '../../src/kv/policy';
import { readBuffer } from '../../src/gpu/buffers';
import type { KvDtype } from '../../src/kv/dtype';
import { readHead } from '../helpers/kv-cache';

export interface PolicyCase {
  model: string;
  kv: KvOptions;
  prompt: number[];
  steps: number;
  /** Compare every `every` steps (and the last). */
  every?: number;
  /** A second turn of this many ids is appended at this step (multi-turn on a compressed cache). */
  turnAt?: number;
  turn?: number[];
  /** Kernel variant of the GPU forward pass (default: the adapter's). */
  variant?: KernelVariant;
  /** Ids per prefill chunk (default 512), and per GPU forward pass (default 32). */
  prefillChunk?: number;
  maxChunk?: number;
  /** K/V storage on both (default f32), and how the GPU stores f16 (default: native where it can). */
  kvDtype?: KvDtype;
  kvF16?: 'native' | 'packed';
}

export interface PolicyResult {
  compared: number;
  /** Prefill chunks compared (the prompt's, before the decode steps). */
  chunks: number;
  mismatch: string | null;
  worstScore: number;
  worstKv: number;
  /**
   * The worst K/V difference in units of the f16 spacing at the largest value of its row (a slot's
   * key or value): a merge can cancel large values, so the row's scale is what rounding errs by.
   */
  worstKvUlp: number;
  /** The GPU stored f16 as native f16 (else packed in u32, or f32). */
  nativeF16: boolean;
  worstTau: number;
  evictions: number;
  merges: number;
  budgets: (number | null)[];
  bytes: number[];
  /** Kept positions that absorbed merges, over all layers, at the end. */
  mergedPositions: number;
}

export async function policyCase(ctx: GpuContext, c: PolicyCase): Promise<PolicyResult> {
  const model = await loadModel(c.model);
  const cpu = new CpuBackend(model, { policy: resolvePolicy(c.kv), prefillChunk: c.prefillChunk, kvDtype: c.kvDtype });
  const gpu = await WebGpuBackend.create(model, { ctx, policy: resolvePolicy(c.kv), variant: c.variant, prefillChunk: c.prefillChunk, maxChunk: c.maxChunk, kvDtype: c.kvDtype, kvF16: c.kvF16 });
  const greedy = resolveSampling({ greedy: true });
  const r: PolicyResult = { compared: 0, chunks: 0, mismatch: null, worstScore: 0, worstKv: 0, worstKvUlp: 0, nativeF16: gpu.forward.kv.kvShader.shader === 'kv_f16_native', worstTau: 0, evictions: 0, merges: 0, budgets: [], bytes: [], mergedPositions: 0 };
  try {
    // The CPU runs the prompt first, leaving a snapshot after each chunk for the GPU to meet.
    const snapshots: CpuSnapshot[] = [];
    let next = await cpu.append(c.prompt, greedy, 0, undefined, () => void snapshots.push(snapshot(cpu)));
    await gpu.append(c.prompt, greedy, 0, undefined, async (done) => {
      if (!r.mismatch) await compareState(gpu, snapshots[r.chunks], `prefill chunk ending at ${done}`, r);
      r.chunks++;
    });
    for (let step = 1; step <= c.steps && !r.mismatch; step++) {
      const ids = step === c.turnAt && c.turn ? c.turn : [next];
      await gpu.append(ids, greedy, step);
      next = await cpu.append(ids, greedy, step);
      if (step % (c.every ?? 1) !== 0 && step !== c.steps) continue;
      r.compared++;
      await compareState(gpu, snapshot(cpu), `step ${step}`, r);
      r.bytes.push(gpu.forward.kv.bytes());
    }
    const [gMap, cMap] = [await gpu.kvMap(), await cpu.kvMap()];
    if (!r.mismatch && JSON.stringify(gMap) !== JSON.stringify(cMap)) r.mismatch = 'the KV maps differ';
    r.mergedPositions = gMap.layers.reduce((s, l) => s + l.merged.length, 0);
    const stats = await gpu.kvStats();
    r.evictions = stats.layers.reduce((s, l) => s + l.evictions, 0);
    r.merges = stats.layers.reduce((s, l) => s + l.merges, 0);
    r.budgets = stats.layers.map((l) => l.budget);
    const cpuStats = await cpu.kvStats();
    if (!r.mismatch) {
      stats.layers.forEach((l, i) => {
        const m = cpuStats.layers[i];
        if (l.evictions !== m.evictions || l.merges !== m.merges || l.budget !== m.budget) r.mismatch = `layer ${i} stats gpu ${JSON.stringify(l)} cpu ${JSON.stringify(m)}`;
      });
    }
  } finally {
    gpu.dispose();
  }
  return r;
}

interface CpuSnapshot {
  /** Per layer and KV head: the slot tables as they are. */
  heads: { pos: Int32Array; score: Float32Array; keys: Float32Array; values: Float32Array; absorbed: Uint32Array; capacity: number }[][];
  tau: (number | null)[];
}

function snapshot(cpu: CpuBackend): CpuSnapshot {
  return {
    heads: cpu.cache.heads.map((hs) => hs.map((h) => ({ pos: h.pos.slice(), score: h.score.slice(), keys: h.keys.slice(), values: h.values.slice(), absorbed: h.absorbed.slice(), capacity: h.capacity }))),
    tau: cpu.policy.stats.map((s) => s.tau),
  };
}

async function compareState(gpu: WebGpuBackend, cpu: CpuSnapshot, at: string, r: PolicyResult): Promise<void> {
  const c = gpu.config;
  const hd = c.headDim;
  const gStates = await gpu.forward.policy?.readState();
  for (let l = 0; l < c.numLayers && !r.mismatch; l++) {
    const tauCpu = cpu.tau[l];
    const tauGpu = gStates?.[l].tau ?? null;
    if ((tauCpu === null) !== (tauGpu === null)) r.mismatch = `${at} layer ${l}: tau ${tauGpu} vs ${tauCpu}`;
    else if (tauCpu !== null && tauGpu !== null) r.worstTau = Math.max(r.worstTau, Math.abs(tauCpu - tauGpu));
    const absorbed = gpu.forward.policy ? new Uint32Array(await readBuffer(gpu.ctx.device, gpu.forward.policy.buffers[l].absorbed.buffer!)) : null;
    for (let h = 0; h < c.numKvHeads && !r.mismatch; h++) {
      const g = await readHead(gpu.forward.kv, l, h);
      const s = cpu.heads[l][h];
      const n = Math.max(g.numSlots, s.capacity);
      for (let slot = 0; slot < n; slot++) {
        const gp = slot < g.numSlots ? g.pos[slot] : -1;
        const cp = slot < s.capacity ? s.pos[slot] : -1;
        if (gp !== cp) {
          r.mismatch = `${at} layer ${l} head ${h} slot ${slot}: position ${gp} on the GPU, ${cp} on the CPU`;
          return;
        }
        if (cp < 0) continue;
        if (absorbed && absorbed[h * gpu.forward.kv.maxSlots + slot] !== s.absorbed[slot]) {
          r.mismatch = `${at} layer ${l} head ${h} slot ${slot}: ${absorbed[h * gpu.forward.kv.maxSlots + slot]} merged in on the GPU, ${s.absorbed[slot]} on the CPU`;
          return;
        }
        r.worstScore = Math.max(r.worstScore, Math.abs(g.score[slot] - s.score[slot]) / Math.max(1, Math.abs(s.score[slot])));
        for (const [gRow, cRow] of [[g.keys, s.keys], [g.values, s.values]]) {
          let diff = 0;
          let scale = 0;
          for (let i = slot * hd; i < (slot + 1) * hd; i++) {
            diff = Math.max(diff, Math.abs(gRow[i] - cRow[i]));
            scale = Math.max(scale, Math.abs(cRow[i]));
          }
          r.worstKv = Math.max(r.worstKv, diff);
          r.worstKvUlp = Math.max(r.worstKvUlp, diff / f16Spacing(scale));
        }
      }
    }
  }
}

/** The distance between consecutive halves around `x`. */
function f16Spacing(x: number): number {
  const a = Math.abs(x);
  return a < 2 ** -14 ? 2 ** -24 : 2 ** (Math.floor(Math.log2(a)) - 10);
}
