/**
 * What chunked prefill costs in quality (src/kv/chunks.ts): a text's continuation scored after a
 * prompt prefilled in chunks of 64, 128 or 256 tokens, each compressed after, against the paper's
 * one-shot prefill (chunk = the whole prompt) under the same policy and budget. Perplexity of the
 * continuation and top-1 agreement with the one-shot run (the greedy next token at every position,
 * teacher-forced). Runs on the CPU reference, which the GPU equals step by step.
 */
import type { ModelDescription } from '../model/types';
import { CpuBackend } from '../cpu/backend';
import { resolvePolicy } from '../kv/policy';
import { resolveSampling } from '../backend/sampling';

export interface ChunkingRow {
  model: string;
  budget: string;
  /** Ids per prefill chunk, or 'whole' (one-shot). */
  chunk: number | 'whole';
  promptTokens: number;
  tokens: number;
  /** Perplexity of the tokens after the prompt. */
  ppl: number;
  /** The same for the one-shot prefill, and the ratio. */
  pplWhole: number;
  pplRatio: number;
  /** Share of positions after the prompt whose greedy token equals the one-shot run's. */
  top1VsWhole: number;
}

const greedy = resolveSampling({ greedy: true });

/** Per-token NLL of `ids` after `promptTokens`, and the greedy token at each of those positions. */
async function score(model: ModelDescription, budget: string, chunk: number, ids: number[], promptTokens: number): Promise<{ nll: number[]; top1: number[] }> {
  const policy = resolvePolicy({ policy: 'd2o', budget });
  const nll = Array.from(await new CpuBackend(model, { policy, prefillChunk: chunk }).nll(ids, undefined, promptTokens)).slice(promptTokens - 1);
  const b = new CpuBackend(model, { policy, prefillChunk: chunk });
  const top1 = [await b.append(ids.slice(0, promptTokens), greedy, 0)];
  for (let i = promptTokens; i < ids.length - 1; i++) top1.push(await b.append([ids[i]], greedy, i));
  return { nll, top1 };
}

export async function evalChunking(name: string, model: ModelDescription, ids: number[], promptTokens: number, budgets: string[], chunks: number[]): Promise<ChunkingRow[]> {
  const rows: ChunkingRow[] = [];
  const ppl = (nll: number[]) => Math.exp(nll.reduce((a, b) => a + b, 0) / nll.length);
  for (const budget of budgets) {
    const whole = await score(model, budget, Infinity, ids, promptTokens);
    const pplWhole = ppl(whole.nll);
    for (const chunk of [Infinity, ...chunks]) {
      const r = chunk === Infinity ? whole : await score(model, budget, chunk, ids, promptTokens);
      const p = ppl(r.nll);
      rows.push({
        model: name,
        budget,
        chunk: chunk === Infinity ? 'whole' : chunk,
        promptTokens,
        tokens: ids.length,
        ppl: p,
        pplWhole,
        pplRatio: p / pplWhole,
        top1VsWhole: r.top1.filter((t, i) => t === whole.top1[i]).length / r.top1.length,
      });
    }
  }
  return rows;
}

export function chunkingMarkdown(rows: ChunkingRow[]): string {
  const lines = [
    '| model | d2o budget | prefill chunk | prompt / text tokens | perplexity | vs one-shot | top-1 agreement with one-shot |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.model} | ${r.budget} | ${r.chunk} | ${r.promptTokens} / ${r.tokens} | ${r.ppl.toFixed(3)} | ${r.chunk === 'whole' ? '1' : `${r.pplRatio.toFixed(4)}x`} | ${(100 * r.top1VsWhole).toFixed(1)} % |`),
  ];
  return lines.join('\n') + '\n';
}
