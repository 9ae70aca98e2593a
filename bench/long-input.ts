/**
 * The benchmark's long-input section: an input of 1k to 32k tokens, then greedy decoding after it,
 * for the full cache and d2o at 20 % and at 256 tokens per layer: prefill tok/s (chunked, each chunk
 * compressed after), decode tok/s after the input, and the KV bytes the cache and the policy hold
 * (their peak: from the first compression on nothing grows). Process CPU time beside wall time;
 * ratios to the full cache at the same input, measured in the same run. On a software adapter a
 * long prefill at these shapes takes far too long: a point whose prefill would pass `prefillLimitS`
 * (estimated from a 64-token prefill timed first) fills the cache directly instead
 * (bench/policy-state.ts) and measures decode and memory only; the full cache stops where the
 * model's context (or the device's memory) does, and the row says which.
 */
import type { GpuContext } from '../src/gpu/device';
import { WebGpuBackend } from '../src/gpu/backend';
import type { ModelDescription } from '../src/model/types';
import { resolvePolicy } from '../src/kv/policy';
import { resolveSampling } from '../src/backend/sampling';
import { ContextOverflowError } from '../src/errors';
import { lineChart } from '../src/eval/svg-plot';
import { writeHistory } from './policy-state';
import { cpuMs } from './gpu-profile';

export interface LongRow {
  model: string;
  dtype: string;
  policy: string;
  input: number;
  /** 'prefill': the input was prefilled; 'filled': the cache was filled directly (decode and memory only). */
  measured: 'prefill' | 'filled' | 'none';
  prefillTokS: number | null;
  prefillCpuMsPerToken: number | null;
  decodeTokS: number | null;
  decodeCpuMsPerToken: number | null;
  /** What the KV cache and the policy allocate after the input and the decode steps. */
  kvMiB: number | null;
  speedVsFull: number | null;
  memoryVsFull: number | null;
  note: string;
}

export const LONG_POLICIES: { name: string; policy: 'full' | 'd2o'; budget?: string }[] = [
  { name: 'full', policy: 'full' },
  { name: 'd2o 20%', policy: 'd2o', budget: '20%' },
  { name: 'd2o 256', policy: 'd2o', budget: '256' },
];

const greedy = resolveSampling({ greedy: true });

export async function benchLongInput(
  ctx: GpuContext,
  name: string,
  dtype: string,
  model: ModelDescription,
  inputs: number[],
  o: { decodeTokens: number; prefillLimitS: number; prefillChunk?: number; budgets?: typeof LONG_POLICIES },
  log: (r: LongRow) => void,
): Promise<LongRow[]> {
  const vocab = model.config.vocabSize;
  const ids = (n: number) => Array.from({ length: n }, (_, i) => (i * 7919 + 3) % vocab);
  const rows: LongRow[] = [];
  // The prefill speed the limit is judged by: 64 tokens into the full cache.
  let tokS = 0;
  if (o.prefillLimitS > 0) {
    const b = await WebGpuBackend.create(model, { ctx });
    try {
      await b.append(ids(2), greedy, 0);
      b.reset();
      const t0 = performance.now();
      await b.append(ids(64), greedy, 0);
      tokS = 64 / ((performance.now() - t0) / 1000);
    } finally {
      b.dispose();
    }
  }
  for (const p of o.budgets ?? LONG_POLICIES) {
    for (const input of inputs) {
      const row: LongRow = { model: name, dtype, policy: p.name, input, measured: 'none', prefillTokS: null, prefillCpuMsPerToken: null, decodeTokS: null, decodeCpuMsPerToken: null, kvMiB: null, speedVsFull: null, memoryVsFull: null, note: '' };
      if (p.policy === 'full' && input + o.decodeTokens + 1 > model.config.maxPositionEmbeddings) {
        row.note = `over the model's context of ${model.config.maxPositionEmbeddings} tokens: the full cache stops there`;
        rows.push(row);
        log(row);
        continue;
      }
      const backend = await WebGpuBackend.create(model, { ctx, policy: resolvePolicy({ policy: p.policy, budget: p.budget }), prefillChunk: o.prefillChunk });
      try {
        await backend.append(ids(2), greedy, 0);
        backend.reset();
        if (tokS > 0 && input / tokS <= o.prefillLimitS) {
          const [c0, w0] = [cpuMs(), performance.now()];
          await backend.append(ids(input), greedy, 0);
          Object.assign(row, { measured: 'prefill', prefillTokS: input / ((performance.now() - w0) / 1000), prefillCpuMsPerToken: (cpuMs() - c0) / input });
        } else {
          await writeHistory(backend, input, o.decodeTokens + 1, ids(input));
          // What a chunked prefill of this input leaves allocated: every layer at its budget plus a chunk.
          const policy = backend.forward.policy;
          if (policy) await backend.forward.kv.ensure(policy.layerLimits().map((n, l) => (Number.isFinite(n) ? n : backend.forward.kv.layerHighWater(l))));
          row.measured = 'filled';
          row.note = tokS > 0 ? `prefill not timed (about ${Math.round(input / tokS / 60)} min at the ${tokS.toFixed(1)} tok/s of a 64-token prefill); cache filled directly` : 'prefill not timed; cache filled directly';
        }
        let next = await backend.append([1], greedy, 1);
        const [c0, w0] = [cpuMs(), performance.now()];
        for (let i = 0; i < o.decodeTokens; i++) next = await backend.append([next], greedy, 2 + i);
        row.decodeTokS = o.decodeTokens / ((performance.now() - w0) / 1000);
        row.decodeCpuMsPerToken = (cpuMs() - c0) / o.decodeTokens;
        row.kvMiB = (backend.forward.kv.bytes() + (backend.forward.policy?.bytes() ?? 0)) / 2 ** 20;
      } catch (e) {
        if (!(e instanceof ContextOverflowError)) throw e;
        row.note = `the device refused the memory: ${e.message.split(';')[0]}`;
      } finally {
        backend.dispose();
      }
      rows.push(row);
      log(row);
    }
  }
  for (const r of rows) {
    const full = rows.find((x) => x.policy === 'full' && x.input === r.input && x.decodeTokS !== null);
    if (!full || r.decodeTokS === null || r.kvMiB === null) continue;
    r.speedVsFull = r.decodeTokS / full.decodeTokS!;
    r.memoryVsFull = r.kvMiB / full.kvMiB!;
  }
  return rows;
}

export function longMarkdown(rows: LongRow[], machine: string, conditions: string): string {
  const n = (x: number | null, d = 1) => (x === null ? '–' : x.toFixed(d));
  const ratio = (x: number | null) => (x === null ? '–' : `${x.toFixed(2)}x`);
  return [
    '# Long inputs',
    '',
    `Generated by \`npm run bench\` (section \`long\`); machine: ${machine}.`,
    '',
    conditions,
    '',
    '| model | weights | policy | input tokens | measured | prefill tok/s | prefill CPU ms/token | decode tok/s | decode CPU ms/token | KV MiB | speed vs full | memory vs full | note |',
    '| --- | --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...rows.map((r) => `| ${r.model} | ${r.dtype} | ${r.policy} | ${r.input} | ${r.measured} | ${n(r.prefillTokS)} | ${n(r.prefillCpuMsPerToken)} | ${n(r.decodeTokS, 2)} | ${n(r.decodeCpuMsPerToken)} | ${n(r.kvMiB, 2)} | ${ratio(r.speedVsFull)} | ${ratio(r.memoryVsFull)} | ${r.note} |`),
    '',
    ...[...new Set(rows.map((r) => `${r.model}|${r.dtype}`))].map((k) => `![${longChartFile(k)}](${longChartFile(k)})`),
    '',
  ].join('\n');
}

const longChartFile = (key: string) => `bench-long-${key.replace('|', '-').toLowerCase().replace(/[^a-z0-9-]+/g, '-')}.svg`;

/** KV memory against input length, one line per policy, per model. */
export function longCharts(rows: LongRow[]): { file: string; svg: string }[] {
  return [...new Set(rows.map((r) => `${r.model}|${r.dtype}`))].map((key) => {
    const g = rows.filter((r) => `${r.model}|${r.dtype}` === key);
    const inputs = [...new Set(g.map((r) => r.input))].sort((a, b) => a - b);
    const svg = lineChart({
      title: `${g[0].model} (${g[0].dtype}): KV memory after an input`,
      xLabel: 'input tokens',
      yLabel: 'KV MiB (cache and policy)',
      x: inputs.map(String),
      logY: true,
      series: [...new Set(g.map((r) => r.policy))].map((p) => ({ name: p, dashed: p === 'full', values: inputs.map((i) => g.find((r) => r.policy === p && r.input === i)?.kvMiB ?? null) })),
    });
    return { file: longChartFile(key), svg };
  });
}
