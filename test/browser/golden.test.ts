import { describe, expect, it } from 'vitest';
import { useBrowserPage } from '../helpers/browser';
import { golden } from '../helpers/models';

const browser = useBrowserPage();

describe('WebGPU backend in Chromium reproduces the first 64 golden tokens', () => {
  it('stories260K (llama2.c file over HTTP)', async () => {
    const g = golden.stories260K;
    const ids = await browser.run<number[]>('/test/cases/golden.ts', 'greedyCase', { model: `${browser.session.baseUrl}/models/stories260K/stories260K.bin`, prompt: g.prompt_ids, tokens: 64 });
    expect(ids).toEqual(g.greedy_ids.slice(0, 65));
  });
  it('TinyStories-656K (safetensors folder over HTTP)', async () => {
    const g = golden['tinystories-656k'];
    const ids = await browser.run<number[]>('/test/cases/golden.ts', 'greedyCase', { model: `${browser.session.baseUrl}/models/tinystories-656k`, prompt: g.prompt_ids, tokens: 64 });
    expect(ids).toEqual(g.greedy_ids.slice(0, 65));
  });
});
