/**
 * `npm run eval`: the quality of every KV policy on the two shared models (src/eval/suite.ts),
 * written to docs/results/eval.json, eval.md and eval-ppl-*.svg. Not a test: nothing here asserts a value.
 *   EVAL_QUICK=1         smallest settings (the smoke test): 64 tokens, a 32-token prompt, budgets 50% and 16
 *   EVAL_OUT=DIR         output folder (default docs/results)
 *   EVAL_BACKEND=cpu|webgpu  perplexity also through CpuBackend.nll or WebGpuBackend.nll, checked against the
 *                        reference step by step (default: from the CPU reference pass that measures agreement,
 *                        which feeds the cache exactly as CpuBackend.nll; the smoke test checks that, and it halves the time)
 *   EVAL_ONLY=chunking   only the chunked-prefill section (src/eval/chunking.ts): d2o at 20 % and 64 tokens,
 *                        a 384-token prompt prefilled in chunks of 64/128/256 against one-shot, 512 tokens in all;
 *                        written to eval-chunking.json and eval-chunking.md
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../src/model/load';
import type { ModelDescription } from '../src/model/types';
import { CpuBackend } from '../src/cpu/backend';
import { runSuite, suiteSettings, SUITE_MODELS } from '../src/eval/suite';
import { parseStories, storyIds } from '../src/eval/story-ids';
import { chunkingMarkdown, evalChunking, type ChunkingRow } from '../src/eval/chunking';
import { createTokenizer } from '../src/tokenizer';
import { evalCharts, evalMarkdown, type EvalReport } from '../src/eval/eval-report';
import type { BackendFactory } from '../src/eval/perplexity';

const quick = process.env.EVAL_QUICK === '1';
const backendName = process.env.EVAL_BACKEND ?? 'reference';
if (!['reference', 'cpu', 'webgpu'].includes(backendName)) throw new Error(`EVAL_BACKEND must be cpu or webgpu (or unset), got ${backendName}`);
const modelsDir = resolve(process.env.D2O_MODELS_DIR ?? '../shared/models');
const outDir = resolve(process.env.EVAL_OUT ?? 'docs/results');
const stories = parseStories(readFileSync(resolve(dirname(fileURLToPath(import.meta.url)), 'eval-texts/stories.txt'), 'utf8'));

async function backends(): Promise<((model: ModelDescription) => BackendFactory) | undefined> {
  if (backendName === 'reference') return undefined;
  if (backendName === 'cpu') return (model) => async (policy) => new CpuBackend(model, { policy });
  const { acquireDevice } = await import('../src/gpu/device');
  const { WebGpuBackend } = await import('../src/gpu/backend');
  const ctx = await acquireDevice();
  return (model) => (policy) => WebGpuBackend.create(model, { ctx, policy });
}

const t0 = performance.now();
const chunking = quick ? { promptTokens: 32, tokens: 64, budgets: ['50%'], chunks: [16] } : { promptTokens: 384, tokens: 512, budgets: ['20%', '64'], chunks: [64, 128, 256] };
const chunkRows: ChunkingRow[] = [];
for (const m of SUITE_MODELS) {
  const model = await loadModel(resolve(modelsDir, m.dir, m.file ?? ''));
  const tokenizer = createTokenizer(model.tokenizer, model.config.eosTokenIds, model.config.vocabSize);
  const ids = storyIds(tokenizer, stories, chunking.tokens, m.endsStories ? model.config.eosTokenIds[0] : null);
  for (const row of await evalChunking(m.name, model, ids, chunking.promptTokens, chunking.budgets, chunking.chunks)) {
    console.log(JSON.stringify(row));
    chunkRows.push(row);
  }
}
mkdirSync(outDir, { recursive: true });
writeFileSync(resolve(outDir, 'eval-chunking.json'), JSON.stringify({ date: new Date().toISOString(), quick, rows: chunkRows }, null, 1) + '\n');
writeFileSync(resolve(outDir, 'eval-chunking.md'), chunkingMarkdown(chunkRows));
if (process.env.EVAL_ONLY === 'chunking') process.exit(0);

const { models, text } = await runSuite({
  quick,
  stories,
  load: (m) => loadModel(resolve(modelsDir, m.dir, m.file ?? '')),
  backends: await backends(),
  log: (line) => console.log(line),
});
const report: EvalReport = {
  date: new Date().toISOString(),
  machine: `${cpus()[0]?.model ?? 'cpu'} x${cpus().length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; ${((performance.now() - t0) / 60000).toFixed(1)} min in all`,
  backend: backendName,
  text,
  models,
};
mkdirSync(outDir, { recursive: true });
writeFileSync(resolve(outDir, 'eval.json'), JSON.stringify({ quick, lengths: suiteSettings(quick).lengths, ...report }, null, 1) + '\n');
writeFileSync(resolve(outDir, 'eval.md'), evalMarkdown(report));
for (const m of models) for (const c of evalCharts(m)) writeFileSync(resolve(outDir, c.file), c.svg);
console.log(`wrote ${outDir}/eval.json, eval.md and the charts in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
