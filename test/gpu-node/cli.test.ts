import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli';
import { golden, modelsDir } from '../helpers/models';
import { scratchDir } from '../helpers/scratch';

describe('cli --backend webgpu', () => {
  it('generate prints the TinyStories-656K golden ids', () => {
    const r = cli('generate', '--model', join(modelsDir, 'tinystories-656k'), '--backend', 'webgpu', '--prompt-ids', '1', '--max-tokens', '200', '--greedy', '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).ids).toEqual(golden['tinystories-656k'].greedy_ids);
  });

  it("stderr carries real errors, not Dawn's limit notices", () => {
    const ok = cli('generate', '--model', join(modelsDir, 'tinystories-656k'), '--backend', 'webgpu', '--prompt-ids', '1', '--max-tokens', '3', '--greedy');
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stderr).not.toMatch(/artificially reduced/);
    expect(ok.stdout).toMatch(/^Once upon a/);
    const missing = cli('generate', '--model', '/nonexistent/model', '--backend', 'webgpu', '--prompt-ids', '1');
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^error: .*no model at \/nonexistent\/model/m);
    expect(missing.stderr).not.toMatch(/artificially reduced/);
  });

  it('generate and score with --policy d2o --budget match the CPU backend', () => {
    const model = join(modelsDir, 'tinystories-656k');
    const prompt = golden['tinystories-656k'].greedy_ids.slice(0, 40).join(',');
    const run = (backend: string) => {
      const r = cli('generate', '--model', model, '--backend', backend, '--prompt-ids', prompt, '--max-tokens', '60', '--greedy', '--policy', 'd2o', '--budget', '16', '--json');
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout);
    };
    const gpu = run('webgpu');
    const cpu = run('cpu');
    expect(gpu.ids).toEqual(cpu.ids);
    expect(gpu.kv.layers.map((l: { evictions: number }) => l.evictions)).toEqual(cpu.kv.layers.map((l: { evictions: number }) => l.evictions));
    expect(gpu.kv.bytesAllocated).toBeLessThan(gpu.kv.bytesFull);

    const dir = scratchDir('d2o-cli-');
    writeFileSync(join(dir, 'ids.txt'), golden['tinystories-656k'].greedy_ids.slice(0, 120).join(' '));
    const score = (backend: string) => {
      const r = cli('score', '--model', model, '--backend', backend, '--ids-file', join(dir, 'ids.txt'), '--prompt-tokens', '20', '--policy', 'h2o', '--budget', '20%', '--json');
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout).nll as number[];
    };
    const g = score('webgpu');
    const c = score('cpu');
    expect(g).toHaveLength(119);
    g.forEach((x, i) => expect(Math.abs(x - c[i])).toBeLessThan(1e-3));
  });
});
