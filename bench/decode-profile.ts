/**
 * Where a decode step's time goes, per kernel group, with the numbers that say how good it is:
 * decode tok/s (wall) and CPU-ms per token (process user + system time: a neighbour on a shared
 * machine slows wall time, not this), dispatches per token and per layer, GPU time per kernel group
 * from timestamp queries (each dispatch in its own pass, minimum over rounds), the layer matvecs'
 * achieved GB/s against the adapter's streaming-read roofline measured in the same run, and the
 * attention's KV read rate.
 */
import { WebGpuBackend } from '../src/gpu/backend';
import type { GpuContext } from '../src/gpu/device';
import { resolveSampling } from '../src/backend/sampling';
import type { ModelDescription } from '../src/model/types';
import type { KvDtype } from '../src/kv/dtype';
import type { KernelVariant } from '../src/gpu/variant';
import type { F16Mode } from '../src/gpu/weights';
import { cpuMs, groupTimes, minProfile, profile, type DispatchTime } from './gpu-profile';
import { markFilled } from '../test/helpers/kv-cache';

const greedy = resolveSampling({ greedy: true });

export interface ProfileRow {
  model: string;
  dtype: string;
  /** Storage of the KV cache. */
  kvDtype: KvDtype;
  adapter: string;
  /** The kernels that ran, and how they read f16 weights. */
  variant: KernelVariant;
  f16: F16Mode;
  context: number;
  decodeTokS: number;
  /** Process CPU time per decoded token (all threads: the software adapter's workers included). */
  cpuMsPerToken: number;
  wallMsPerToken: number;
  dispatchesPerToken: number;
  dispatchesPerLayer: number;
  /** Sum of the per-dispatch GPU times of one forward pass (ms). */
  gpuMs: number;
  /** GPU ms per kernel group. */
  groups: Record<string, number>;
  /** The layer matvecs' weight bytes over their GPU time (GB/s, 1e9 B/s), and that over the roofline. */
  matvecGBs: number;
  matvecOfRoofline: number;
  /** The LM head's GB/s. */
  headGBs: number;
  /** K and V bytes the attention reads per token over its GPU time (GB/s). */
  attentionGBs: number;
  rooflineGBs: number;
  weightMiB: number;
}

/** Coarse kernel groups from the bind group labels the wrappers give (src/gpu/*.ts). */
export function kernelGroup(d: DispatchTime): string {
  const l = d.label;
  if (l.startsWith('matvec ') || l.startsWith('matmul ')) return /embed|lm_head|output\.weight|token_embd/.test(l) ? 'lm head' : 'layer matvecs';
  if (l.startsWith('attention')) return 'attention';
  if (l.startsWith('rmsnorm')) return 'rmsnorm';
  if (l.startsWith('kv append')) return 'rope + kv append';
  if (l.startsWith('swiglu')) return 'swiglu';
  if (l.startsWith('embedding')) return 'embedding';
  if (l.startsWith('kv policy')) return 'kv policy';
  return l.split(' ')[0] || d.entry;
}

export interface ProfileOptions {
  /** Timed decode steps per round and rounds (the best round is kept). */
  decodeTokens: number;
  rounds: number;
  /** Profiled forward passes (element-wise minimum). */
  profileRounds: number;
  rooflineGBs: number;
  /** Default f32. */
  kvDtype?: KvDtype;
  /** Default: the adapter's (chooseVariant). */
  variant?: KernelVariant;
}

export async function profileDecode(ctx: GpuContext, name: string, dtype: string, model: ModelDescription, contexts: number[], o: ProfileOptions, log: (r: ProfileRow) => void): Promise<ProfileRow[]> {
  const c = model.config;
  const maxCtx = Math.max(...contexts);
  const extra = o.rounds * o.decodeTokens + o.profileRounds + 2;
  const kvDtype = o.kvDtype ?? 'f32';
  const backend = await WebGpuBackend.create(model, { ctx, kvCapacity: maxCtx + extra, kvDtype, variant: o.variant });
  const f = backend.forward;
  const vocab = c.vocabSize;
  const ids = (n: number) => Array.from({ length: n }, (_, i) => (i * 7919 + 3) % vocab);
  const rows: ProfileRow[] = [];
  // Layer matvec and LM head bytes as uploaded (tied embeddings: the head reads the embedding).
  const layerBytes = f.layerWeightBytes;
  const headBytes = f.headWeightBytes;
  try {
    await backend.append(ids(2), greedy, 0);
    for (const context of contexts) {
      backend.reset();
      markFilled(f.kv, context);
      backend.context.push(...ids(context));
      let next = await backend.append([1], greedy, 0);
      let best = { wall: Infinity, cpu: Infinity };
      for (let r = 0; r < o.rounds; r++) {
        const c0 = cpuMs();
        const t0 = performance.now();
        for (let i = 0; i < o.decodeTokens; i++) next = await backend.append([next], greedy, i);
        const wall = (performance.now() - t0) / o.decodeTokens;
        const cpu = (cpuMs() - c0) / o.decodeTokens;
        if (wall < best.wall) best = { wall, cpu };
      }
      const runs: DispatchTime[][] = [];
      for (let r = 0; r < o.profileRounds; r++) {
        // Each profiled pass is a decode step of its own (it appends a token).
        f.prepare(backend.context.length, 1, 0, 0);
        backend.context.push(next);
        runs.push(await profile(ctx.device, (pass) => f.encode(pass, 1)));
      }
      const times = minProfile(runs);
      const groups = Object.fromEntries([...groupTimes(times, kernelGroup)].map(([k, v]) => [k, v.ns / 1e6]));
      const gpuMs = times.reduce((s, d) => s + d.ns, 0) / 1e6;
      // K and V of every kept token, every layer and kv head.
      const kvBytes = c.numLayers * c.numKvHeads * (context + 1) * c.headDim * 2 * f.kv.elementBytes;
      const row: ProfileRow = {
        model: name,
        dtype,
        kvDtype,
        adapter: `${ctx.info.vendor} ${ctx.info.architecture}`.trim(),
        variant: f.variant,
        f16: f.weightF16,
        context,
        decodeTokS: 1000 / best.wall,
        cpuMsPerToken: best.cpu,
        wallMsPerToken: best.wall,
        dispatchesPerToken: f.dispatchesPerStep + 1,
        dispatchesPerLayer: f.dispatchesPerLayer,
        gpuMs,
        groups,
        matvecGBs: layerBytes / 1e6 / groups['layer matvecs'],
        matvecOfRoofline: layerBytes / 1e6 / groups['layer matvecs'] / o.rooflineGBs,
        headGBs: headBytes / 1e6 / groups['lm head'],
        attentionGBs: kvBytes / 1e6 / groups.attention,
        rooflineGBs: o.rooflineGBs,
        weightMiB: f.weightBytes / 2 ** 20,
      };
      rows.push(row);
      log(row);
    }
  } finally {
    backend.dispose();
  }
  return rows;
}

export interface PrefillRow {
  model: string;
  dtype: string;
  adapter: string;
  variant: KernelVariant;
  f16: F16Mode;
  /** Prompt tokens prefilled from an empty cache, in chunks of `chunk`. */
  tokens: number;
  chunk: number;
  prefillTokS: number;
  cpuMsPerToken: number;
  /** One chunk's forward pass: GPU ms per kernel group, and the layer matmuls' GFLOP/s (2 flops per weight and token). */
  groups: Record<string, number>;
  matmulGFlops: number;
}

/** Multiply-adds of the layer projections per token. */
function layerMacs(model: ModelDescription): number {
  const c = model.config;
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  return c.numLayers * (c.hiddenSize * (2 * q + 2 * kv) + 3 * c.hiddenSize * c.intermediateSize);
}

export async function profilePrefill(ctx: GpuContext, name: string, dtype: string, model: ModelDescription, o: { tokens: number; rounds: number; profileRounds: number; variant?: KernelVariant }, log: (r: PrefillRow) => void): Promise<PrefillRow> {
  const backend = await WebGpuBackend.create(model, { ctx, kvCapacity: o.tokens + 64, variant: o.variant });
  const f = backend.forward;
  const ids = Array.from({ length: o.tokens }, (_, i) => (i * 7919 + 3) % model.config.vocabSize);
  try {
    await backend.append(ids.slice(0, 2), greedy, 0);
    let best = { wall: Infinity, cpu: Infinity };
    for (let r = 0; r < o.rounds; r++) {
      backend.reset();
      const c0 = cpuMs();
      const t0 = performance.now();
      await backend.append(ids, greedy, 0);
      const wall = performance.now() - t0;
      if (wall < best.wall) best = { wall, cpu: cpuMs() - c0 };
    }
    const T = Math.min(f.maxChunk, o.tokens);
    const runs: DispatchTime[][] = [];
    for (let r = 0; r < o.profileRounds; r++) {
      backend.reset();
      f.prepare(0, T, 0, 0);
      runs.push(await profile(ctx.device, (pass) => f.encode(pass, T)));
    }
    const groups = Object.fromEntries([...groupTimes(minProfile(runs), kernelGroup)].map(([k, v]) => [k, v.ns / 1e6]));
    const row: PrefillRow = {
      model: name,
      dtype,
      adapter: `${ctx.info.vendor} ${ctx.info.architecture}`.trim(),
      variant: f.variant,
      f16: f.weightF16,
      tokens: o.tokens,
      chunk: f.maxChunk,
      prefillTokS: o.tokens / (best.wall / 1000),
      cpuMsPerToken: best.cpu / o.tokens,
      groups,
      matmulGFlops: (2 * T * layerMacs(model)) / 1e6 / groups['layer matvecs'],
    };
    log(row);
    return row;
  } finally {
    backend.dispose();
  }
}

export function profileMarkdown(rows: ProfileRow[], prefill: PrefillRow[], machine: string, conditions: string): string {
  const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '—');
  const groupNames = [...new Set(rows.flatMap((r) => Object.keys(r.groups)))];
  return [
    '# Decode profile',
    '',
    `Generated by \`npm run bench\` (section \`profile\`); machine: ${machine}.`,
    '',
    conditions,
    '',
    '| model | weights | KV | context | decode tok/s | wall ms/token | CPU ms/token | dispatches/token | per layer | GPU ms/pass | layer matvecs GB/s | of roofline | LM head GB/s | attention KV GB/s | roofline GB/s |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.model} | ${r.dtype} | ${r.kvDtype} | ${r.context} | ${f(r.decodeTokS, 2)} | ${f(r.wallMsPerToken)} | ${f(r.cpuMsPerToken)} | ${r.dispatchesPerToken} | ${r.dispatchesPerLayer} | ${f(r.gpuMs)} | ${f(r.matvecGBs, 2)} | ${f(100 * r.matvecOfRoofline, 0)} % | ${f(r.headGBs, 2)} | ${f(r.attentionGBs, 2)} | ${f(r.rooflineGBs, 1)} |`,
    ),
    '',
    'GPU ms per kernel group (one forward pass, each dispatch timed alone, minimum over the profiled passes):',
    '',
    `| model | weights | KV | context | ${groupNames.join(' | ')} |`,
    `| --- | --- | --- | ---: | ${groupNames.map(() => '---:').join(' | ')} |`,
    ...rows.map((r) => `| ${r.model} | ${r.dtype} | ${r.kvDtype} | ${r.context} | ${groupNames.map((g) => f(r.groups[g] ?? NaN, 2)).join(' | ')} |`),
    '',
    'Prefill from an empty cache (wall and CPU time of the whole prompt; GFLOP/s of the layer matmuls in one chunk, from timestamps):',
    '',
    '| model | weights | prompt tokens | chunk | prefill tok/s | CPU ms/token | layer matmuls GFLOP/s | attention ms/chunk |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...prefill.map((r) => `| ${r.model} | ${r.dtype} | ${r.tokens} | ${r.chunk} | ${f(r.prefillTokS)} | ${f(r.cpuMsPerToken)} | ${f(r.matmulGFlops, 2)} | ${f(r.groups.attention, 1)} |`),
  ].join('\n') + '\n';
}
