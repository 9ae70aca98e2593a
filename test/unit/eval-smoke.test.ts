/**
 * `npm run eval` at its smallest settings (EVAL_QUICK=1: both models, 64 tokens, budgets 50% and 16)
 * writes the files docs/results/ holds, with the structure the README and the charts rely on; with
 * EVAL_BACKEND=cpu, CpuBackend.nll equals the lockstep reference's NLL exactly (so the default run,
 * which takes perplexity from the reference pass, reports the CPU backend's); the evaluation core
 * stays browser-safe.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { POLICIES } from '../../src/kv/policy';
import type { EvalReport } from '../../src/eval/eval-report';
import { scratchDir } from '../helpers/scratch';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

type Report = EvalReport & { quick: boolean; lengths: { tokens: number; promptTokens: number }[] };

function runEval(out: string, env: Record<string, string>): Report {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/eval.ts'], { cwd: root, encoding: 'utf8', env: { ...process.env, EVAL_QUICK: '1', EVAL_OUT: out, ...env } });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(readFileSync(join(out, 'eval.json'), 'utf8'));
}

describe('npm run eval (EVAL_QUICK=1)', () => {
  const out = scratchDir('d2o-eval-');
  const cpuOut = scratchDir('d2o-eval-cpu-');
  let report: Report;
  let throughCpu: Report;

  beforeAll(() => {
    report = runEval(out, {});
    throughCpu = runEval(cpuOut, { EVAL_BACKEND: 'cpu' });
  }, 120_000);

  it('eval.json: both models, the full cache once and every other policy at each budget', () => {
    expect(report).toMatchObject({ quick: true, lengths: [{ tokens: 64, promptTokens: 32 }], backend: 'reference' });
    expect(report.models.map((m) => m.model)).toEqual(['stories260K', 'TinyStories-656K']);
    for (const m of report.models) {
      expect(m).toMatchObject({ tokens: 64, promptTokens: 32, scoredTokens: 31 });
      expect(m.rows.map((r) => `${r.policy} ${r.budget}`)).toEqual(POLICIES.flatMap((p) => (p === 'full' ? ['full '] : [`${p} 50%`, `${p} 16`])));
      for (const r of m.rows) {
        expect(r.perplexity).toBeGreaterThan(1);
        expect(r.perplexity).toBeCloseTo(Math.exp(r.meanNll), 9);
        // A share of the scored steps (a whole number of them), some agreeing with the full cache.
        expect(r.top1).toBeGreaterThan(0);
        expect(r.top1).toBeLessThanOrEqual(1);
        expect(r.top1 * m.scoredTokens).toBeCloseTo(Math.round(r.top1 * m.scoredTokens), 9);
        // Compression changes every later distribution a little: KL is 0 for the full cache only.
        expect(r.kl > 0).toBe(r.policy !== 'full');
        expect(r.attentionMass).toBeGreaterThan(0);
        expect(r.attentionMass).toBeLessThanOrEqual(1 + 1e-9);
        expect(r.attentionMassByLayer).toHaveLength(m.model === 'stories260K' ? 5 : 2);
        expect(r.nllWindows).toHaveLength(2);
        expect(r.referenceNllDiff).toBeNull();
      }
      const full = m.rows[0];
      expect(full).toMatchObject({ policy: 'full', budgetTokens: null, top1: 1, kl: 0, attentionMass: 1, evictions: 0, keptTokens: 64 });
      for (const r of m.rows.slice(1)) {
        // Every compressing policy holds its budget and evicts each step once over it.
        expect(r.keptTokens).toBeLessThanOrEqual(r.budgetTokens!);
        expect(r.evictions).toBeGreaterThan(0);
        expect(r.attentionMass).toBeLessThan(1);
        expect(r.merges > 0).toBe(r.policy === 'd2o' || r.policy === 'd2o-uniform');
      }
    }
  });

  it('EVAL_BACKEND=cpu: CpuBackend.nll and the lockstep reference feed the cache identically, to the bit', () => {
    expect(throughCpu.backend).toBe('cpu');
    throughCpu.models.forEach((m, i) =>
      m.rows.forEach((r, j) => {
        expect(r.referenceNllDiff, `${m.model} ${r.policy} ${r.budget}`).toBe(0);
        expect(r.perplexity).toBe(report.models[i].rows[j].perplexity);
      }),
    );
  });

  it('eval.md and one chart per model and budget kind, a line per policy', () => {
    const md = readFileSync(join(out, 'eval.md'), 'utf8');
    for (const heading of ['## stories260K, 64 tokens', '## TinyStories-656K, 64 tokens', '### Perplexity', '### Top-1 agreement', '### Every configuration']) expect(md).toContain(heading);
    expect(md).toContain('| policy | 50% | 16 |');
    const charts = readdirSync(out).filter((f) => f.endsWith('.svg')).sort();
    expect(charts).toEqual(['eval-ppl-stories260k-64-ratio.svg', 'eval-ppl-stories260k-64-tokens.svg', 'eval-ppl-tinystories-656k-64-ratio.svg', 'eval-ppl-tinystories-656k-64-tokens.svg']);
    for (const c of charts) {
      const svg = readFileSync(join(out, c), 'utf8');
      expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
      expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
      expect(md).toContain(`](${c})`);
      // One point per policy at the single budget of its kind, each named in the legend.
      expect(svg.match(/<circle /g)).toHaveLength(POLICIES.length);
      for (const p of POLICIES) expect(svg).toContain(`>${p}</text>`);
    }
  });

  it('src/eval/ imports nothing from Node, so a browser page runs the same code', () => {
    const dir = join(root, 'src/eval');
    for (const f of readdirSync(dir)) expect(readFileSync(join(dir, f), 'utf8'), f).not.toMatch(/from ['"]node:|require\(/);
  });
});
