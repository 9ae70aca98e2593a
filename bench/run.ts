/**
 * `npm run bench`: prefill and decode speed and GPU memory of the WebGPU backend, for the shared
 * models and for synthetic weights at real shapes, at several context lengths. Writes
 * docs/bench.json and docs/bench.md. Not a test: nothing here asserts a timing.
 *   BENCH_QUICK=1   smallest settings (used by the smoke test)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { acquireDevice } from '../src/gpu/device';
import { WebGpuBackend } from '../src/gpu/backend';
import { loadModel } from '../src/model/load';
import { resolveSampling } from '../src/engine/sampling';
import type { DType, ModelDescription } from '../src/model/types';
import { syntheticModel } from './synthetic';

const quick = process.env.BENCH_QUICK === '1';
const modelsDir = resolve(process.env.D2O_MODELS_DIR ?? '../shared/models');
const outDir = resolve(process.env.BENCH_OUT ?? 'docs');
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
      backend.forward.kv.markFilled(context);
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

const contexts = quick ? [64] : [512, 1024, 2048, 4096];
await bench('stories260K', 'f32', await loadModel(`${modelsDir}/stories260K`), quick ? [64] : [256, 512], quick ? 4 : 32, quick ? 16 : 256);
await bench('TinyStories-656K', 'f32', await loadModel(`${modelsDir}/tinystories-656k`), quick ? [64] : [256, 512], quick ? 4 : 32, quick ? 16 : 256);
await bench('TinyStories-656K', 'q8_0', await loadModel(`${modelsDir}/tinystories-656k/tinystories-656k-q8_0.gguf`), quick ? [64] : [256, 512], quick ? 4 : 32, quick ? 16 : 256);
for (const dtype of (quick ? ['q4_0'] : ['f16', 'q8_0', 'q4_0']) as DType[]) await bench('SmolLM2-135M', dtype, syntheticModel('SmolLM2-135M', dtype), contexts, quick ? 2 : 8, quick ? 8 : 64);
if (!quick) for (const dtype of ['f16', 'q8_0', 'q4_0'] as DType[]) await bench('Llama-3.2-1B', dtype, syntheticModel('Llama-3.2-1B', dtype), contexts, 3, 32);

const machine = `${cpus()[0]?.model ?? 'cpu'} x${cpus().length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; adapter ${ctx.info.vendor} ${ctx.info.architecture}${ctx.info.isFallback ? ' (software)' : ''}; kernels ${ctx.info.isFallback ? 'simple' : 'tiled'}`;
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
