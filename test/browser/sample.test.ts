import { describe, expect, it } from 'vitest';
import { useBrowserPage } from '../helpers/browser';
import type { DrawResult } from '../cases/sampler';

// Chromium + SwiftShader: the GPU id must EQUAL the CPU reference's; small vocabularies.
const browser = useBrowserPage();

const M = '/test/cases/sampler.ts';

describe('GPU sampler in Chromium vs the CPU sampler', () => {
  it('uniform_at is bit-exact with uniformAt (20k pairs)', async () => {
    expect(await browser.run(M, 'uniformAtCheck', { n: 20_000 })).toEqual({ n: 20_000, mismatches: 0, first: null });
  });
  it('greedy with ties and a penalty', async () => {
    for (const c of [
      { vocab: 7, sampling: { greedy: true }, draws: 10, logits: 'ties' },
      { vocab: 300, sampling: { greedy: true, repetitionPenalty: 1.3, repetitionWindow: 8 }, draws: 5, context: [5, 9, 5, 100, 299, 3, 3, 1, 0] },
    ]) {
      const r = await browser.run<DrawResult>(M, 'drawCase', c);
      expect(r.gpu).toEqual(r.cpu);
    }
  });
  it('temperature, top-k, top-p, penalty', async () => {
    for (const sampling of [
      { temperature: 0.7, topK: 5, seed: 1 },
      { temperature: 1.3, topP: 0.5, repetitionPenalty: 1.3, seed: 2 },
      { temperature: 0.9, topK: 40, topP: 0.9, repetitionPenalty: 1.2, seed: 3 },
      { temperature: 1, topK: 1, seed: 4 },
    ]) {
      const r = await browser.run<DrawResult>(M, 'drawCase', { vocab: 500, sampling, draws: 4, context: [1, 2, 3, 2, 499] });
      expect(r.gpu, JSON.stringify(sampling)).toEqual(r.cpu);
    }
    const ties = await browser.run<DrawResult>(M, 'drawCase', { vocab: 300, sampling: { temperature: 1, topK: 5, topP: 0.9, seed: 5 }, draws: 4, logits: 'ties' });
    expect(ties.gpu).toEqual(ties.cpu);
  });
  it('decode loop: ids appended to the GPU ring', async () => {
    const r = await browser.run<DrawResult & { ringOk: boolean }>(M, 'decodeCase', { vocab: 64, sampling: { temperature: 1, repetitionPenalty: 1.5, repetitionWindow: 16, seed: 6 }, prompt: 20, steps: 8, ringSize: 32 });
    expect(r.gpu).toEqual(r.cpu);
    expect(r.ringOk).toBe(true);
  });
});
