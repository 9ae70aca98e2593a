import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBrowser, runCase, type BrowserSession } from '../helpers/browser';
import { golden } from '../helpers/models';

let s: BrowserSession;
beforeAll(async () => {
  s = await openBrowser();
});
afterAll(() => s?.close());

const ok = (r: { ok: boolean }) => expect(r.ok, JSON.stringify(r)).toBe(true);

describe('kernels in Chromium (SwiftShader, no shader-f16) vs CPU reference', () => {
  it.each(['simple', 'tiled'])('rmsnorm %s', async (variant) => ok(await runCase(s.page, '/test/cases/kernels.ts', 'rmsnormCase', { variant, tokens: 3, width: 129 })));
  it('rope, both layouts', async () => {
    ok(await runCase(s.page, '/test/cases/kernels.ts', 'ropeCase', { tokens: 3, heads: 8, kvHeads: 4, headDim: 16, pos0: 300, layout: 'half' }));
    ok(await runCase(s.page, '/test/cases/kernels.ts', 'ropeCase', { tokens: 2, heads: 4, kvHeads: 2, headDim: 64, pos0: 4000, layout: 'interleaved', llama3: true }));
  });
  it('swiglu', async () => ok(await runCase(s.page, '/test/cases/kernels.ts', 'swigluCase', { tokens: 3, width: 97 })));
  it.each(['f16', 'q4_0'])('embedding %s', async (dtype) => ok(await runCase(s.page, '/test/cases/kernels.ts', 'embeddingCase', { dtype, vocab: 11, cols: 64, ids: [0, 10, 3] })));
  it('sampler', async () => {
    for (const sampling of [{ greedy: true }, { temperature: 0.9, topK: 20, topP: 0.9, repetitionPenalty: 1.2, seed: 3 }]) {
      const r = await runCase<{ gpu: number[]; cpu: number[] }>(s.page, '/test/cases/kernels.ts', 'sampleCase', { vocab: 500, sampling, draws: 5, context: [1, 2, 3, 2] });
      expect(r.gpu).toEqual(r.cpu);
    }
  });
});

describe('WebGPU backend in Chromium reproduces the first 64 golden tokens', () => {
  it('stories260K (llama2.c file over HTTP)', async () => {
    const g = golden.stories260K;
    const ids = await runCase<number[]>(s.page, '/test/cases/golden.ts', 'greedyCase', { model: `${s.baseUrl}/models/stories260K/stories260K.bin`, prompt: g.prompt_ids, tokens: 64 });
    expect(ids).toEqual(g.greedy_ids.slice(0, 65));
  });
  it('TinyStories-656K (safetensors folder over HTTP)', async () => {
    const g = golden['tinystories-656k'];
    const ids = await runCase<number[]>(s.page, '/test/cases/golden.ts', 'greedyCase', { model: `${s.baseUrl}/models/tinystories-656k`, prompt: g.prompt_ids, tokens: 64 });
    expect(ids).toEqual(g.greedy_ids.slice(0, 65));
  });
});
