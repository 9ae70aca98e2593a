import { describe, expect, it } from 'vitest';
import { useBrowserPage } from '../helpers/browser';
import { golden } from '../helpers/models';
import type { PolicyCase, PolicyResult } from '../cases/policy';

const browser = useBrowserPage();

// The same comparison and tolerances as the Node route (test/gpu-node/policy.test.ts), on SwiftShader.
describe('GPU KV policies equal the CPU reference step by step in Chromium', () => {
  const ids = golden['tinystories-656k'].greedy_ids;
  const prompt = ids.slice(0, 40);
  const cases: [string, Omit<PolicyCase, 'model'>][] = [
    ['d2o 24 tokens', { prompt, steps: 120, kv: { policy: 'd2o', budget: { kind: 'tokens', tokens: 24 } } }],
    ['d2o 20% with a second turn', { prompt, steps: 60, turnAt: 30, turn: ids.slice(100, 117), kv: { policy: 'd2o', budget: { kind: 'ratio', ratio: 0.2 } } }],
    ['h2o 16 tokens', { prompt, steps: 60, kv: { policy: 'h2o', budget: { kind: 'tokens', tokens: 16 } } }],
    ['streaming 12 tokens', { prompt, steps: 60, kv: { policy: 'streaming', budget: { kind: 'tokens', tokens: 12 } } }],
    ['d2o 24 tokens, a 150-token prompt in chunks of 40', { prompt: ids.slice(0, 150), prefillChunk: 40, steps: 30, kv: { policy: 'd2o', budget: { kind: 'tokens', tokens: 24 } } }],
  ];
  it.each(cases)('TinyStories-656K, %s', async (_, c) => {
    const r = await browser.run<PolicyResult>('/test/cases/policy.ts', 'policyCase', { ...c, model: `${browser.session.baseUrl}/models/tinystories-656k` });
    expect(r.mismatch).toBeNull();
    expect(r.compared).toBe(c.steps);
    expect(r.chunks).toBe(Math.ceil(c.prompt.length / (c.prefillChunk ?? 512)));
    expect(r.worstScore).toBeLessThan(1e-4);
    expect(r.worstKv).toBeLessThan(1e-4);
    expect(r.worstTau).toBeLessThan(1e-5);
    expect(r.evictions).toBeGreaterThan(0);
    if (c.kv.policy === 'd2o') expect(r.merges).toBeGreaterThan(0);
    else expect(r.merges).toBe(0);
  });
  it('TinyStories-656K, f16 K/V packed in u32 (no shader-f16 here): equal to the CPU reference rounding to f16', async () => {
    const r = await browser.run<PolicyResult>('/test/cases/policy.ts', 'policyCase', { model: `${browser.session.baseUrl}/models/tinystories-656k`, prompt: ids.slice(0, 100), prefillChunk: 40, steps: 40, kvDtype: 'f16', kv: { policy: 'd2o', budget: { kind: 'tokens', tokens: 24 } } });
    expect(r.mismatch).toBeNull();
    expect(r.nativeF16).toBe(false);
    expect(r.chunks).toBe(3);
    // Tolerances of the f16 cache: see test/gpu-node/kv-f16.test.ts.
    expect(r.worstKvUlp).toBeLessThanOrEqual(4);
    expect(r.worstScore).toBeLessThan(1e-2);
    expect(r.merges).toBeGreaterThan(0);
  });

  it('stories260K (llama2.c file), d2o 20%', async () => {
    const g = golden.stories260K.greedy_ids;
    const r = await browser.run<PolicyResult>('/test/cases/policy.ts', 'policyCase', { model: `${browser.session.baseUrl}/models/stories260K/stories260K.bin`, prompt: g.slice(0, 40), steps: 80, kv: { policy: 'd2o', budget: { kind: 'ratio', ratio: 0.2 } } });
    expect(r.mismatch).toBeNull();
    expect(r.compared).toBe(80);
    expect(r.worstKv).toBeLessThan(1e-4);
    expect(r.merges).toBeGreaterThan(0);
  });
});
