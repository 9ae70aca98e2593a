/**
 * `npm run bench`: the WebGPU backend's speed and memory, for the shared models and for synthetic
 * weights at real shapes. Not a test: nothing here asserts a timing. Sections (BENCH_ONLY=a,b picks
 * some; default all):
 * - table:    prefill and decode speed and GPU memory of the full cache at several context lengths
 *             (docs/bench.json, docs/bench.md);
 * - policies: decode speed and KV memory against context length for full, streaming, h2o and d2o at
 *             a 20 % budget (docs/results/bench-policies.json, .md, bench-*.svg);
 * - profile:  where a decode step's time goes at the SmolLM2-135M shape (f16, Q8_0) at 512 / 2,048 /
 *             8,192 tokens (and Q8_0 with the f16 KV cache at 8,192): tok/s, CPU-ms per token, dispatches, GPU time per kernel group
 *             (timestamp queries), the matvecs' GB/s against the adapter's read roofline measured
 *             in the same run (docs/results/bench-profile.json, .md);
 * - long:     long inputs (1k to 32k tokens) at the SmolLM2-135M and Llama-3.2-1B shapes for the full
 *             cache and d2o at 20 % and 256 tokens: prefill and decode speed, KV memory, ratios to the
 *             full cache (docs/results/bench-long.json, .md, bench-long-*.svg; bench/long-input.ts).
 *             BENCH_LONG_PREFILL_S: the longest prefill timed per point (default 600 s; beyond, the
 *             cache is filled directly); BENCH_LONG_MAX: the longest input (default 32768)
 * - peers:    llama.cpp beside us on the same GGUF files (docs/results/bench-peers.json, .md); needs
 *             node-llama-cpp, which `npm run bench:peers` installs and runs this section with.
 *   BENCH_QUICK=1   smallest settings (used by the smoke test)
 *   BENCH_OUT=DIR   output folder (default docs; the policy and peer sections write to DIR/results)
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { acquireDevice } from '../src/gpu/device';
import { WebGpuBackend } from '../src/gpu/backend';
import { loadModel } from '../src/model/load';
import { resolveSampling } from '../src/backend/sampling';
import { parseBudget } from '../src/kv/policy';
import type { DType, ModelDescription } from '../src/model/types';
import { syntheticModel } from './synthetic';
import { writeSyntheticGguf } from './synthetic-gguf';
import { benchPolicies, type PolicyRow } from './policies';
import { benchPeer, greedyIds, loadLlamaCpp, type GreedyRow, type PeerRow } from './peers';
import { quantizedGguf, type QuantPreset } from '../src/model/gguf-quantize';
import { peerMarkdown, policyCharts, policyMarkdown } from './bench-report';
import { profileDecode, profileMarkdown, profilePrefill, type PrefillRow, type ProfileRow } from './decode-profile';
import { measureRoofline } from './roofline';
import { cpuMs } from './gpu-profile';
import { benchLongInput, longCharts, longMarkdown, LONG_POLICIES, type LongRow } from './long-input';
import { markFilled } from '../test/helpers/kv-cache';

const quick = process.env.BENCH_QUICK === '1';
const modelsDir = resolve(process.env.D2O_MODELS_DIR ?? '../shared/models');
const outDir = resolve(process.env.BENCH_OUT ?? 'docs');
const resultsDir = join(outDir, 'results');
const sections = process.env.BENCH_ONLY?.split(',') ?? ['table', 'profile', 'policies', 'long', 'peers'];
const greedy = resolveSampling({ greedy: true });

interface Row {
  model: string;
  dtype: string;
  context: number;
  prefillTokens: number;
  prefillTokS: number;
  decodeTokS: number;
  weightMiB: number;
  kvMiB: number;
  dispatchesPerToken: number;
  submitsPerToken: number;
  readbacksPerToken: number;
}

const ctx = await acquireDevice();
const rows: Row[] = [];

async function bench(name: string, dtype: string, model: ModelDescription, contexts: number[], decodeTokens: number, prefillTokens: number): Promise<void> {
  const maxCtx = Math.max(...contexts) + decodeTokens + 1;
  const backend = await WebGpuBackend.create(model, { ctx, kvCapacity: maxCtx });
  const vocab = model.config.vocabSize;
  const ids = (n: number) => Array.from({ length: n }, (_, i) => (i * 7919 + 3) % vocab);
  try {
    // Warm-up compiles every pipeline.
    await backend.append(ids(2), greedy, 0);
    backend.reset();
    let t0 = performance.now();
    await backend.append(ids(prefillTokens), greedy, 0);
    const prefillTokS = prefillTokens / ((performance.now() - t0) / 1000);
    for (const context of contexts) {
      backend.reset();
      markFilled(backend.forward.kv, context);
      backend.context.push(...ids(context));
      let next = 1;
      await backend.append([next], greedy, 0);
      t0 = performance.now();
      for (let i = 0; i < decodeTokens; i++) next = await backend.append([next], greedy, i);
      const decodeTokS = decodeTokens / ((performance.now() - t0) / 1000);
      const row: Row = {
        model: name,
        dtype,
        context,
        prefillTokens,
        prefillTokS,
        decodeTokS,
        weightMiB: backend.forward.weightBytes / 2 ** 20,
        kvMiB: backend.forward.kv.bytes() / 2 ** 20,
        dispatchesPerToken: backend.forward.dispatchesPerStep + 1,
        submitsPerToken: 1,
        readbacksPerToken: 1,
      };
      rows.push(row);
      console.log(JSON.stringify(row));
    }
  } finally {
    backend.dispose();
  }
}

const machine = `${cpus()[0]?.model ?? 'cpu'} x${cpus().length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; adapter ${ctx.info.vendor} ${ctx.info.architecture}${ctx.info.isFallback ? ' (software)' : ''}; kernels ${ctx.info.isFallback ? 'simple' : 'tiled'}`;

if (sections.includes('table')) {
  const contexts = quick ? [64] : [512, 1024, 2048, 4096];
  await bench('stories260K', 'f32', await loadModel(`${modelsDir}/stories260K`), quick ? [64] : [256, 512], quick ? 4 : 32, quick ? 16 : 256);
  await bench('TinyStories-656K', 'f32', await loadModel(`${modelsDir}/tinystories-656k`), quick ? [64] : [256, 512], quick ? 4 : 32, quick ? 16 : 256);
  await bench('TinyStories-656K', 'q8_0', await loadModel(`${modelsDir}/tinystories-656k/tinystories-656k-q8_0.gguf`), quick ? [64] : [256, 512], quick ? 4 : 32, quick ? 16 : 256);
  // Q4_K_M: llama-quantize's mix (K-quants where rows are whole 256-element super-blocks, its fallbacks elsewhere).
  for (const dtype of (quick ? ['q4_0', 'Q4_K_M'] : ['f16', 'q8_0', 'q4_0', 'Q4_K_M']) as (DType | QuantPreset)[]) await bench('SmolLM2-135M', dtype, syntheticModel('SmolLM2-135M', dtype), contexts, quick ? 2 : 8, quick ? 8 : 64);
  if (!quick) for (const dtype of ['f16', 'q8_0', 'q4_0', 'Q4_K_M'] as (DType | QuantPreset)[]) await bench('Llama-3.2-1B', dtype, syntheticModel('Llama-3.2-1B', dtype), contexts, 3, 32);

  const fmt = (x: number, d = 1) => x.toFixed(d);
  const table = [
    '| model | weights | context | prefill tok/s | decode tok/s | weights MiB | KV MiB | dispatches/token |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((r) => `| ${r.model} | ${r.dtype} | ${r.context} | ${fmt(r.prefillTokS)} | ${fmt(r.decodeTokS, 2)} | ${fmt(r.weightMiB)} | ${fmt(r.kvMiB)} | ${r.dispatchesPerToken} |`),
  ].join('\n');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(resolve(outDir, 'bench.json'), JSON.stringify({ machine, date: new Date().toISOString(), quick, rows }, null, 1) + '\n');
  writeFileSync(
    resolve(outDir, 'bench.md'),
    `# Benchmark\n\nMachine: ${machine}.\n\nDecode is timed at each context length with the cache marked full to that length (values do not change the speed). Each decoded token is one command buffer submit and one 4-byte readback (the sampled id). Prefill is timed from an empty cache in chunks of 32.\n\n${table}\n`,
  );
  console.log(table);
}

if (sections.includes('profile')) {
  if (!ctx.device.features.has('timestamp-query')) throw new Error('the profile section needs timestamp queries, which this adapter lacks');
  const load0 = loadavg()[0];
  const [c0, w0] = [cpuMs(), performance.now()];
  const measure = () => (quick ? measureRoofline(ctx.device, 64, 1) : measureRoofline(ctx.device));
  const roofline = await measure();
  console.log(JSON.stringify({ roofline }));
  const contexts = quick ? [64] : [512, 2048, 8192];
  const timing = quick ? { decodeTokens: 2, rounds: 1, profileRounds: 1 } : { decodeTokens: 4, rounds: 3, profileRounds: 3 };
  const rows: ProfileRow[] = [];
  const prefill: PrefillRow[] = [];
  for (const dtype of (quick ? ['q8_0'] : ['f16', 'q8_0']) as DType[]) {
    const model = syntheticModel('SmolLM2-135M', dtype);
    rows.push(...(await profileDecode(ctx, 'SmolLM2-135M', dtype, model, contexts, { ...timing, rooflineGBs: roofline.best }, (r) => console.log(JSON.stringify(r)))));
    prefill.push(await profilePrefill(ctx, 'SmolLM2-135M', dtype, model, { tokens: quick ? 8 : 256, rounds: timing.rounds, profileRounds: timing.profileRounds }, (r) => console.log(JSON.stringify(r))));
  }
  // The f16 KV cache (opt-in) at the longest context, where attention dominates.
  rows.push(...(await profileDecode(ctx, 'SmolLM2-135M', 'q8_0', syntheticModel('SmolLM2-135M', 'q8_0'), contexts.slice(-1), { ...timing, rooflineGBs: roofline.best, kvDtype: 'f16' }, (r) => console.log(JSON.stringify(r)))));
  const roofline2 = await measure();
  // Neighbours on a shared machine slow the roofline kernel as much as the rows: the matvecs are
  // compared with the best roofline of the run (before or after), never with a slowed one alone.
  const best = Math.max(roofline.best, roofline2.best);
  for (const r of rows) Object.assign(r, { rooflineGBs: best, matvecOfRoofline: r.matvecGBs / best });
  const load = { start: load0, end: loadavg()[0], cpuOverWall: (cpuMs() - c0) / (performance.now() - w0) };
  const conditions =
    `Synthetic weights at the SmolLM2-135M shape (30 layers, hidden 576, 9 / 3 heads of 64, intermediate 1536, vocab 49152), full cache marked filled to each context; KV stored as f32 (the default) or f16 (kvDtype: 'f16'). ` +
    `Decode: the best of ${timing.rounds} rounds of ${timing.decodeTokens} greedy steps, each one submit and a 4-byte readback; CPU ms/token is the process's user + system time over the same steps. ` +
    `GPU times: timestamp queries around each dispatch in its own pass (Dawn's timestamp quantization disabled), the minimum over ${timing.profileRounds} forward passes. ` +
    `Roofline: the best of plain streaming-read kernels over ${(roofline.bytes / 2 ** 20).toFixed(0)} MiB in the same run, ${roofline.best.toFixed(1)} GB/s before the rows and ${roofline2.best.toFixed(1)} GB/s after (the rows are compared with the better one). ` +
    `Load average ${load.start.toFixed(1)} at the start and ${load.end.toFixed(1)} at the end on ${cpus().length} cores; the process used ${load.cpuOverWall.toFixed(2)} cores on average.`;
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(resolve(resultsDir, 'bench-profile.json'), JSON.stringify({ machine, date: new Date().toISOString(), quick, roofline: [roofline, roofline2], load, rows, prefill }, null, 1) + '\n');
  writeFileSync(resolve(resultsDir, 'bench-profile.md'), profileMarkdown(rows, prefill, machine, conditions));
}

if (sections.includes('policies')) {
  const budget = '20%';
  // Quick: a second context past TinyStories-656K's 512 positions (the limit is raised for the full cache).
  const contexts = quick ? [64, 600] : [512, 1024, 2048, 4096, 8192];
  // Timed steps per round and rounds per point: fewer where a step takes seconds on a software adapter.
  const models: [string, DType, () => Promise<ModelDescription>, { decodeTokens: number; rounds: number }][] = quick
    ? [['TinyStories-656K', 'f32', () => loadModel(`${modelsDir}/tinystories-656k`), { decodeTokens: 2, rounds: 1 }]]
    : [
        ['stories260K', 'f32', () => loadModel(`${modelsDir}/stories260K`), { decodeTokens: 32, rounds: 3 }],
        ['TinyStories-656K', 'f32', () => loadModel(`${modelsDir}/tinystories-656k`), { decodeTokens: 32, rounds: 3 }],
        ['SmolLM2-135M', 'q8_0', async () => syntheticModel('SmolLM2-135M', 'q8_0'), { decodeTokens: 3, rounds: 3 }],
        ['Llama-3.2-1B', 'q8_0', async () => syntheticModel('Llama-3.2-1B', 'q8_0'), { decodeTokens: 1, rounds: 3 }],
      ];
  const policyRows: PolicyRow[] = [];
  for (const [name, dtype, load, timing] of models)
    policyRows.push(...(await benchPolicies(ctx, name, dtype, await load(), contexts, timing, parseBudget(budget), (r) => console.log(JSON.stringify(r)))));
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(resolve(resultsDir, 'bench-policies.json'), JSON.stringify({ machine, date: new Date().toISOString(), quick, budget, rows: policyRows }, null, 1) + '\n');
  writeFileSync(resolve(resultsDir, 'bench-policies.md'), policyMarkdown(policyRows, machine, budget));
  for (const c of policyCharts(policyRows, budget)) writeFileSync(resolve(resultsDir, c.file), c.svg);
}

if (sections.includes('long')) {
  const max = Number(process.env.BENCH_LONG_MAX ?? 32768);
  const inputs = (quick ? [64, 200] : [1024, 4096, 8192, 16384, 32768]).filter((n) => n <= max);
  const prefillLimitS = Number(process.env.BENCH_LONG_PREFILL_S ?? 600);
  const [c0, w0, load0] = [cpuMs(), performance.now(), loadavg()[0]];
  const longRows: LongRow[] = [];
  const models: [string, string, () => Promise<ModelDescription>, number][] = quick
    ? [['TinyStories-656K', 'f32', () => loadModel(`${modelsDir}/tinystories-656k`), 2]]
    : [
        ['SmolLM2-135M', 'q8_0', async () => syntheticModel('SmolLM2-135M', 'q8_0'), 3],
        ['Llama-3.2-1B', 'q8_0', async () => syntheticModel('Llama-3.2-1B', 'q8_0'), 2],
      ];
  const budgets = quick ? [LONG_POLICIES[0], { name: 'd2o 20%', policy: 'd2o' as const, budget: '20%' }, { name: 'd2o 16', policy: 'd2o' as const, budget: '16' }] : LONG_POLICIES;
  for (const [name, dtype, load, decodeTokens] of models)
    longRows.push(...(await benchLongInput(ctx, name, dtype, await load(), inputs, { decodeTokens, prefillLimitS, prefillChunk: quick ? 32 : undefined, budgets }, (r) => console.log(JSON.stringify(r)))));
  const conditions =
    `Synthetic weights (Q8_0) at the real shapes, f32 KV cache (kvDtype 'f16' halves the KV figures), prefill in chunks of ${quick ? 32 : 512} (each compressed after under d2o), then ` +
    `greedy decode steps (one submit and one 4-byte readback each). KV MiB: everything the cache and the policy allocate (pools, slot tables, scores, per-slot policy buffers). ` +
    `Prefill is timed where it takes at most ${prefillLimitS} s per point, estimated from a 64-token prefill timed first; beyond, the cache is filled directly as a prefill leaves it. ` +
    `The run used ${((cpuMs() - c0) / (performance.now() - w0)).toFixed(2)} cores on average (load average ${load0.toFixed(1)} at the start, ${loadavg()[0].toFixed(1)} at the end, ${cpus().length} cores).`;
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(resolve(resultsDir, 'bench-long.json'), JSON.stringify({ machine, date: new Date().toISOString(), quick, prefillLimitS, rows: longRows }, null, 1) + '\n');
  writeFileSync(resolve(resultsDir, 'bench-long.md'), longMarkdown(longRows, machine, conditions));
  for (const c of longCharts(longRows)) writeFileSync(resolve(resultsDir, c.file), c.svg);
}

if (sections.includes('peers')) {
  const peer = await loadLlamaCpp();
  if (!peer) {
    console.log('peers: node-llama-cpp is not installed; `npm run bench:peers` installs it and runs this section');
    if (process.env.BENCH_ONLY) process.exitCode = 1;
  } else {
    const { llama, version } = peer;
    const context = quick ? 16 : 256;
    const rounds = quick ? 1 : 3;
    const peerRows: PeerRow[] = [];
    const greedyRows: GreedyRow[] = [];
    const dir = mkdtempSync(join(tmpdir(), 'd2o-peers-'));
    const typeList = (types: Iterable<string>) => {
      const n = new Map<string, number>();
      for (const t of types) n.set(t, (n.get(t) ?? 0) + 1);
      return [...n].map(([t, k]) => `${k} ${t.toUpperCase()}`).join(', ');
    };
    try {
      // Greedy ids against llama.cpp's on K-quant files: TinyStories-656K as Q4_K_M (128 wide: the
      // fallbacks Q5_0 and Q8_0) from the golden prompt, and synthetic models at real shapes.
      const g = JSON.parse(readFileSync(`${modelsDir}/golden.json`, 'utf8'))['tinystories-656k'] as { prompt_ids: number[] };
      const tinyQ = quantizedGguf(await loadModel(`${modelsDir}/tinystories-656k`), 'Q4_K_M');
      writeFileSync(join(dir, 'tinystories-656k-q4_k_m.gguf'), tinyQ.bytes);
      greedyRows.push(await greedyIds(ctx, llama, 'TinyStories-656K Q4_K_M', typeList(tinyQ.types.values()), join(dir, 'tinystories-656k-q4_k_m.gguf'), g.prompt_ids, quick ? 16 : 64));
      console.log(JSON.stringify(greedyRows.at(-1)));
      for (const name of (quick ? ['SmolLM2-135M'] : ['SmolLM2-135M', 'Llama-3.2-1B']) as ('SmolLM2-135M' | 'Llama-3.2-1B')[]) {
        const file = join(dir, `${name}-q4_k_m.gguf`);
        writeSyntheticGguf(name, 'Q4_K_M', file);
        const m = await loadModel(file);
        const types = typeList([...new Set(m.tensors.values())].map((t) => t.dtype));
        greedyRows.push(await greedyIds(ctx, llama, `${name} Q4_K_M (synthetic)`, types, file, [1, 300, 301, 302, 303], quick ? 4 : 8));
        console.log(JSON.stringify(greedyRows.at(-1)));
        rmSync(file);
      }
      const tiny = { name: 'TinyStories-656K Q8_0', file: `${modelsDir}/tinystories-656k/tinystories-656k-q8_0.gguf`, decode: { ours: quick ? 4 : 32, llamaCpp: quick ? 4 : 64 } };
      peerRows.push(await benchPeer(ctx, llama, tiny.name, tiny.file, context, tiny.decode, rounds));
      console.log(JSON.stringify(peerRows.at(-1)));
      // Synthetic GGUFs at the real shapes, written here and deleted after (1.3 GB for Llama-3.2-1B).
      const synthetic: [name: 'SmolLM2-135M' | 'Llama-3.2-1B', decode: { ours: number; llamaCpp: number }][] = [
        ['SmolLM2-135M', { ours: 3, llamaCpp: 16 }],
        ['Llama-3.2-1B', { ours: 1, llamaCpp: 8 }],
      ];
      for (const [name, decode] of quick ? [] : synthetic) {
        const file = join(dir, `${name}-q8_0.gguf`);
        writeSyntheticGguf(name, 'q8_0', file);
        peerRows.push(await benchPeer(ctx, llama, `${name} Q8_0 (synthetic)`, file, context, decode, rounds));
        console.log(JSON.stringify(peerRows.at(-1)));
        rmSync(file);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await llama.dispose();
    }
    const note =
      `Both decode greedily with the full cache after a ${context}-token prompt, in the same process, from the same GGUF file (Q8_0 weights). ` +
      `llama.cpp: node-llama-cpp ${version}'s prebuilt CPU build, prompt prefilled, then timed from its first generated token, at 1 to ${cpus().length} threads (more threads than free cores can be many times slower; the best is compared). ` +
      `Ours: the WebGPU backend through Dawn on the adapter named (a software Vulkan driver on the CPU here, using every core), the prompt's cache marked full (the values do not change the speed), one untimed step, then timed steps. Each side and setting keeps the best of ${rounds} rounds (another process on the shared cores only slows a round). ` +
      'The synthetic files hold random weights at the real shapes with a placeholder vocabulary (bench/synthetic-gguf.ts); speed does not depend on the values. The ratio is ours over llama.cpp\'s best.';
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(resolve(resultsDir, 'bench-peers.json'), JSON.stringify({ machine, date: new Date().toISOString(), quick, context, peer: `node-llama-cpp ${version}`, rows: peerRows, greedy: greedyRows }, null, 1) + '\n');
    writeFileSync(resolve(resultsDir, 'bench-peers.md'), peerMarkdown(peerRows, machine, note, greedyRows));
    // The check: on the trained model, llama.cpp and we pick the same greedy ids.
    if (greedyRows[0].agree < greedyRows[0].ours.length) {
      console.error(`peers: greedy ids differ from llama.cpp's at token ${greedyRows[0].agree} on ${greedyRows[0].model}`);
      process.exitCode = 1;
    }
  }
}
