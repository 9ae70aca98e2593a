import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli';
import { golden, modelsDir } from '../helpers/models';
import { scratchDir } from '../helpers/scratch';

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
    const dir = scratchDir('d2o-cli-');
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

  it('generate and score take --policy and --budget and report the KV statistics', () => {
    const model = join(modelsDir, 'tinystories-656k');
    const prompt = golden['tinystories-656k'].greedy_ids.slice(0, 40).join(',');
    const r = cli('generate', '--model', model, '--prompt-ids', prompt, '--max-tokens', '60', '--greedy', '--policy', 'd2o', '--budget', '16', '--json');
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.ids).toHaveLength(100);
    expect(out.kv.policy).toBe('d2o');
    for (const l of out.kv.layers) {
      expect(l.evictions).toBeGreaterThan(0);
      expect(l.occupancy).toBeLessThanOrEqual(l.budget);
    }
    expect(out.kv.layers.some((l: { merges: number }) => l.merges > 0)).toBe(true);
    // The last sampled token has not been fed back yet.
    expect(out.kv.sequenceLength).toBe(99);

    const dir = scratchDir('d2o-cli-');
    writeFileSync(join(dir, 'ids.txt'), golden['tinystories-656k'].greedy_ids.join(' '));
    const score = (...extra: string[]) => {
      const s = cli('score', '--model', model, '--ids-file', join(dir, 'ids.txt'), '--prompt-tokens', '20', '--json', ...extra);
      expect(s.status, s.stderr).toBe(0);
      return JSON.parse(s.stdout);
    };
    const full = score();
    const ratio = score('--policy', 'h2o', '--budget', '20%');
    const streaming = score('--policy', 'streaming', '--budget', '8');
    expect(full.kv.layers[0].evictions).toBe(0);
    // 20 % of a 20-token prompt is 4 tokens (2 heavy hitters, 2 recent), but the 4 sinks are always
    // kept: 4 heavy hitters and 1 recent token in every layer.
    for (const l of ratio.kv.layers) expect(l).toMatchObject({ budget: 5, hh: 4, recent: 1 });
    expect(streaming.kv.layers[0].budget).toBe(8);
    // Dropping context costs likelihood on the model's own greedy text.
    expect(ratio.meanNll).toBeGreaterThan(full.meanNll);
    expect(streaming.meanNll).toBeGreaterThan(full.meanNll);
    // The prompt is scored before any compression, so its tokens score alike.
    expect(ratio.nll.slice(0, 19)).toEqual(full.nll.slice(0, 19));
    // A prompt in chunks of 8 is compressed after each: its later tokens see less than in one shot.
    const chunked = score('--policy', 'h2o', '--budget', '8', '--prefill-chunk', '8');
    const whole = score('--policy', 'h2o', '--budget', '8', '--prefill-chunk', 'whole');
    expect(chunked.nll.slice(0, 8)).toEqual(whole.nll.slice(0, 8));
    expect(chunked.nll.slice(8, 19)).not.toEqual(whole.nll.slice(8, 19));
    expect(chunked.kv.layers[0].budget).toBe(whole.kv.layers[0].budget);
  });

  it('rejects unknown policies and impossible budgets with a usage error', () => {
    const model = join(modelsDir, 'stories260K');
    const bad = cli('generate', '--model', model, '--prompt-ids', '1', '--policy', 'lru');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--policy must be one of full, streaming, h2o, d2o/);
    const small = cli('generate', '--model', model, '--prompt-ids', '1', '--policy', 'd2o', '--budget', '3');
    expect(small.status).toBe(2);
    expect(small.stderr).toMatch(/--budget: a token budget must be an integer above 4/);
    const pct = cli('generate', '--model', model, '--prompt-ids', '1', '--policy', 'd2o', '--budget', '150%');
    expect(pct.status).toBe(2);
    const chunk = cli('generate', '--model', model, '--prompt-ids', '1', '--prefill-chunk', '0');
    expect(chunk.status).toBe(2);
    expect(chunk.stderr).toMatch(/--prefill-chunk: prefillChunk must be a positive integer/);
    const dtype = cli('generate', '--model', model, '--prompt-ids', '1', '--kv-dtype', 'f8');
    expect(dtype.status).toBe(2);
    expect(dtype.stderr).toMatch(/--kv-dtype: kvDtype must be one of f16, f32/);
  });
});

describe('cli argument checks (the API\'s, under the flags\' names)', () => {
  const stories = join(modelsDir, 'stories260K');
  it.each([
    [['--top-p', '0'], /--top-p must be a finite number in \(0, 1\]/],
    [['--temperature=-1'], /--temperature must be/],
    [['--max-tokens', '0'], /--max-tokens must be an integer/],
    [['--prompt-ids', '1,99999'], /prompt\[1\] must be a token id from 0 to 511/],
    [['--policy', 'h2o', '--budget', '100000'], /budget must be at most the model's context of 512/],
  ])('%j is a usage error naming it, before anything runs', (flags, message) => {
    const args = ['generate', '--model', stories, '--backend', 'cpu', '--greedy', ...flags];
    if (!flags.includes('--prompt-ids')) args.push('--prompt-ids', '1');
    const r = cli(...args);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
