/**
 * `npm run bench` at its smallest settings (BENCH_QUICK=1) writes the benchmark files with the
 * structure docs/ relies on, and `npm run eval` runs its perplexity pass on the WebGPU backend
 * (the same evaluation code a browser page runs). No timing is asserted, only that one was taken.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { PolicyRow } from '../../bench/policies';
import type { ProfileRow } from '../../bench/decode-profile';
import type { LongRow } from '../../bench/long-input';
import type { EvalReport } from '../../src/eval/eval-report';
import { POLICIES } from '../../src/kv/policy';
import { scratchDir } from '../helpers/scratch';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function run(script: string, env: Record<string, string>): void {
  const r = spawnSync(process.execPath, ['--import', 'tsx', script], { cwd: root, encoding: 'utf8', env: { ...process.env, ...env } });
  expect(r.status, r.stderr).toBe(0);
}

const json = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8'));

describe('npm run bench (BENCH_QUICK=1)', () => {
  it('the full-cache table and the policy section: every policy at each context, ratios to the full cache, two charts per model', () => {
    const out = scratchDir('d2o-bench-');
    run('bench/run.ts', { BENCH_QUICK: '1', BENCH_OUT: out, BENCH_ONLY: 'table,policies' });
    const table = json<{ rows: { model: string; decodeTokS: number }[] }>(join(out, 'bench.json'));
    expect(table.rows.length).toBeGreaterThan(0);
    for (const r of table.rows) expect(r.decodeTokS).toBeGreaterThan(0);

    const results = join(out, 'results');
    const { rows, budget } = json<{ rows: PolicyRow[]; budget: string }>(join(results, 'bench-policies.json'));
    expect(budget).toBe('20%');
    // 600 tokens pass the model's 512 positions: the full cache still runs (its limit raised for the bench).
    expect(rows.map((r) => `${r.context} ${r.policy}`)).toEqual(['64', '600'].flatMap((c) => ['full', 'streaming', 'h2o', 'd2o'].map((p) => `${c} ${p}`)));
    for (const context of [64, 600]) {
      const at = rows.filter((r) => r.context === context);
      const full = at[0];
      expect(full).toMatchObject({ speedVsFull: 1, memoryVsFull: 1 });
      expect(full.keptTokens).toBeGreaterThanOrEqual(full.context);
      for (const r of at) {
        expect(r.decodeTokS).toBeGreaterThan(0);
        expect(r.kvMiB).toBeGreaterThan(0);
        expect(r.speedVsFull).toBeCloseTo(r.decodeTokS / full.decodeTokS, 9);
        expect(r.memoryVsFull).toBeCloseTo(r.kvMiB / full.kvMiB, 9);
      }
      // A 20 % budget: each head holds about a fifth of the history (13 tokens at 64, 121 at 600).
      for (const r of at.slice(1)) expect(r.keptTokens).toBeLessThanOrEqual(Math.ceil(0.2 * (r.context + 1)) + 1);
    }
    const md = readFileSync(join(results, 'bench-policies.md'), 'utf8');
    expect(md).toContain('| policy | context | kept tokens/head | decode tok/s | speed vs full | KV MiB | memory vs full | timed steps × rounds |');
    expect(readdirSync(results).filter((f) => f.endsWith('.svg')).sort()).toEqual(['bench-tinystories-656k-f32-memory.svg', 'bench-tinystories-656k-f32-speed.svg']);
  });
});

describe('npm run bench, profile section (BENCH_QUICK=1)', () => {
  it('reports dispatches, GPU time per kernel group from timestamps, the matvecs against a roofline of the same run, CPU time', () => {
    const out = scratchDir('d2o-bench-profile-');
    run('bench/run.ts', { BENCH_QUICK: '1', BENCH_OUT: out, BENCH_ONLY: 'profile' });
    const { rows, roofline } = json<{ rows: ProfileRow[]; roofline: { best: number }[] }>(join(out, 'results', 'bench-profile.json'));
    expect(roofline).toHaveLength(2);
    for (const r of roofline) expect(r.best).toBeGreaterThan(0);
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) {
      expect(r.decodeTokS).toBeGreaterThan(0);
      expect(r.cpuMsPerToken).toBeGreaterThan(0);
      // Embedding, the layers, final norm and LM head, and the sampler.
      expect(r.dispatchesPerToken).toBe(r.dispatchesPerLayer * 30 + 4);
      // lavapipe runs the simple kernels: RMSNorm, QKV, RoPE + KV append, attention (2), output
      // projection, RMSNorm, gate+up with SiLU * up, down projection.
      expect(r.dispatchesPerLayer).toBe(9);
      expect(Object.keys(r.groups)).toEqual(expect.arrayContaining(['layer matvecs', 'attention', 'lm head', 'rmsnorm']));
      const sum = Object.values(r.groups).reduce((a, b) => a + b, 0);
      expect(sum).toBeCloseTo(r.gpuMs, 6);
      expect(r.matvecGBs).toBeGreaterThan(0);
      expect(r.matvecOfRoofline).toBeCloseTo(r.matvecGBs / r.rooflineGBs, 9);
      // Against the better of the run's two rooflines (a loaded moment slows the roofline too).
      expect(r.rooflineGBs).toBe(Math.max(roofline[0].best, roofline[1].best));
    }
    expect(readFileSync(join(out, 'results', 'bench-profile.md'), 'utf8')).toContain('| layer matvecs GB/s | of roofline |');
  });
});

describe('npm run eval on the WebGPU backend (EVAL_QUICK=1)', () => {
  it('perplexity through WebGpuBackend.nll agrees with the CPU reference step by step', () => {
    const out = scratchDir('d2o-eval-gpu-');
    run('bench/eval.ts', { EVAL_QUICK: '1', EVAL_OUT: out, EVAL_BACKEND: 'webgpu' });
    const report = json<EvalReport>(join(out, 'eval.json'));
    expect(report.backend).toBe('webgpu');
    for (const m of report.models) {
      // The full cache once, every other policy at the two quick budgets.
      expect(m.rows).toHaveLength(1 + 2 * (POLICIES.length - 1));
      for (const r of m.rows) expect(r.referenceNllDiff, `${m.model} ${r.policy} ${r.budget}`).toBeLessThan(1e-3);
    }
  });
});

describe('npm run bench, long-input section (BENCH_QUICK=1)', () => {
  it('every policy at each input: prefill and decode speed with CPU time, KV memory, ratios to the full cache, a chart', () => {
    const out = scratchDir('d2o-bench-long-');
    run('bench/run.ts', { BENCH_QUICK: '1', BENCH_OUT: out, BENCH_ONLY: 'long' });
    const { rows } = json<{ rows: LongRow[] }>(join(out, 'results', 'bench-long.json'));
    expect(rows.map((r) => `${r.policy} ${r.input}`)).toEqual(['full 64', 'full 200', 'd2o 20% 64', 'd2o 20% 200', 'd2o 16 64', 'd2o 16 200']);
    for (const r of rows) {
      expect(r.measured).toBe('prefill');
      expect(r.prefillTokS).toBeGreaterThan(0);
      expect(r.prefillCpuMsPerToken).toBeGreaterThan(0);
      expect(r.decodeTokS).toBeGreaterThan(0);
      const full = rows.find((x) => x.policy === 'full' && x.input === r.input)!;
      expect(r.memoryVsFull).toBeCloseTo(r.kvMiB! / full.kvMiB!, 9);
      expect(r.speedVsFull).toBeCloseTo(r.decodeTokS! / full.decodeTokS!, 9);
    }
    // A fixed budget holds the same memory however long the input; the full cache grows with it.
    const at = (p: string, n: number) => rows.find((r) => r.policy === p && r.input === n)!.kvMiB!;
    expect(at('d2o 16', 200)).toBe(at('d2o 16', 64));
    expect(at('full', 200)).toBeGreaterThan(at('full', 64));
    expect(readFileSync(join(out, 'results', 'bench-long.md'), 'utf8')).toContain('| model | weights | policy | input tokens | measured | prefill tok/s | prefill CPU ms/token |');
    expect(readdirSync(join(out, 'results')).filter((f) => f.startsWith('bench-long-') && f.endsWith('.svg'))).toEqual(['bench-long-tinystories-656k-f32.svg']);
  });
});
