import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli';
import { golden, modelsDir } from '../helpers/models';

describe('cli (cpu backend)', () => {
  it('generate --json prints the golden ids for stories260K', () => {
    const r = cli('generate', '--model', join(modelsDir, 'stories260K'), '--backend', 'cpu', '--prompt-ids', '1', '--max-tokens', '346', '--greedy', '--json');
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.ids).toEqual(golden.stories260K.greedy_ids);
    expect(out.text).toBe(golden.stories260K.text);
  });

  it('generate streams text from a text prompt and stops at EOS on request', () => {
    const r = cli('generate', '--model', join(modelsDir, 'tinystories-656k'), '--prompt', 'Once upon a time', '--max-tokens', '300', '--greedy', '--stop-at-eos');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(50);
    const j = cli('generate', '--model', join(modelsDir, 'tinystories-656k'), '--prompt', 'Once upon a time', '--max-tokens', '300', '--greedy', '--stop-at-eos', '--json');
    const ids: number[] = JSON.parse(j.stdout).generatedIds;
    expect(ids.at(-1)).toBe(2);
    expect(ids.length).toBeLessThan(300);
    expect(ids.indexOf(2)).toBe(ids.length - 1);
  });

  it('score --json prints per-token NLL and their mean', () => {
    const dir = mkdtempSync(join(tmpdir(), 'd2o-cli-'));
    const ids = golden['tinystories-656k'].greedy_ids.slice(0, 30);
    writeFileSync(join(dir, 'ids.txt'), ids.join(' '));
    const r = cli('score', '--model', join(modelsDir, 'tinystories-656k'), '--ids-file', join(dir, 'ids.txt'), '--json');
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.nll).toHaveLength(29);
    // Greedy ids are the model's own top choices: each is likely.
    expect(out.meanNll).toBeGreaterThan(0);
    expect(out.meanNll).toBeLessThan(1.5);
    expect(out.meanNll).toBeCloseTo(out.nll.reduce((a: number, b: number) => a + b, 0) / 29, 10);
  });

  it('errors go to stderr with a non-zero exit code', () => {
    const missing = cli('generate', '--model', '/nonexistent/model', '--prompt-ids', '1');
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toMatch(/no model at \/nonexistent\/model/);
    expect(missing.stdout).toBe('');
    const usage = cli('generate', '--model', join(modelsDir, 'stories260K'), '--backend', 'cuda');
    expect(usage.status).toBe(2);
    expect(usage.stderr).toMatch(/--backend must be cpu or webgpu/);
    const badIds = cli('generate', '--model', join(modelsDir, 'stories260K'), '--prompt-ids', '1,x');
    expect(badIds.status).toBe(2);
  });
});
