import { describe, expect, it } from 'vitest';
import { getTestDevice } from '../helpers/gpu';
import { policyCase, type PolicyCase } from '../cases/policy';
import { golden, stories260K, tinystories656k } from '../helpers/models';

// Scores are sums of hundreds of f32 probabilities (relative 1e-4); K/V are merged in f32 from
// GPU-computed projections (1e-4 absolute); tau is a mean of f32 cosines (1e-5).
const check = (r: Awaited<ReturnType<typeof policyCase>>) => {
  expect(r.mismatch).toBeNull();
  expect(r.worstScore).toBeLessThan(1e-4);
  expect(r.worstKv).toBeLessThan(1e-4);
  expect(r.worstTau).toBeLessThan(1e-5);
};

const models = [
  ['stories260K', stories260K.bin, golden.stories260K.greedy_ids],
  ['TinyStories-656K', tinystories656k.dir, golden['tinystories-656k'].greedy_ids],
] as const;

describe.each(models)('GPU KV policies equal the CPU reference step by step on %s', (_, model, ids) => {
  const prompt = ids.slice(0, 40);
  const long = ids.slice(0, 150);
  const cases: [string, PolicyCase][] = [
    ['d2o 20%', { model, prompt, steps: 300, kv: { policy: 'd2o', budget: { kind: 'ratio', ratio: 0.2 } } }],
    ['d2o 24 tokens', { model, prompt, steps: 300, kv: { policy: 'd2o', budget: { kind: 'tokens', tokens: 24 } } }],
    ['d2o-no-merge 40%', { model, prompt, steps: 100, kv: { policy: 'd2o-no-merge', budget: { kind: 'ratio', ratio: 0.4 } } }],
    ['d2o-uniform 16 tokens', { model, prompt, steps: 100, kv: { policy: 'd2o-uniform', budget: { kind: 'tokens', tokens: 16 } } }],
    ['h2o 20 tokens', { model, prompt, steps: 100, kv: { policy: 'h2o', budget: { kind: 'tokens', tokens: 20 } } }],
    ['pyramidkv 20 tokens', { model, prompt, steps: 100, kv: { policy: 'pyramidkv', budget: { kind: 'tokens', tokens: 20 } } }],
    ['streaming 12 tokens', { model, prompt, steps: 100, kv: { policy: 'streaming', budget: { kind: 'tokens', tokens: 12 } } }],
    ['d2o 24 tokens, tiled kernels', { model, prompt, steps: 150, variant: 'tiled', kv: { policy: 'd2o', budget: { kind: 'tokens', tokens: 24 } } }],
    ['d2o 20% with layer 0 protected', { model, prompt, steps: 100, kv: { policy: 'd2o', budget: { kind: 'ratio', ratio: 0.2 }, protectedLayers: [0] } }],
    ['d2o with a second turn on the compressed cache', { model, prompt, steps: 60, turnAt: 30, turn: ids.slice(100, 117), kv: { policy: 'd2o', budget: { kind: 'tokens', tokens: 24 } } }],
    // Chunked prefill: a 150-token prompt, compressed after every chunk; compared after each.
    ['d2o 20%, prompt in chunks of 32', { model, prompt: long, steps: 40, prefillChunk: 32, kv: { policy: 'd2o', budget: { kind: 'ratio', ratio: 0.2 } } }],
    ['d2o 24 tokens, chunks of 40 in passes of 16', { model, prompt: long, steps: 40, prefillChunk: 40, maxChunk: 16, kv: { policy: 'd2o', budget: { kind: 'tokens', tokens: 24 } } }],
    ['h2o 16 tokens, chunks of 25', { model, prompt: long, steps: 30, prefillChunk: 25, kv: { policy: 'h2o', budget: { kind: 'tokens', tokens: 16 } } }],
    ['streaming 12 tokens, chunks of 20', { model, prompt: long, steps: 30, prefillChunk: 20, kv: { policy: 'streaming', budget: { kind: 'tokens', tokens: 12 } } }],
    ['d2o 24 tokens, chunks of 48, tiled kernels', { model, prompt: long, steps: 30, prefillChunk: 48, variant: 'tiled', kv: { policy: 'd2o', budget: { kind: 'tokens', tokens: 24 } } }],
    ['d2o 24 tokens, a second turn of 60 in chunks of 25', { model, prompt, steps: 40, turnAt: 20, turn: ids.slice(100, 160), prefillChunk: 25, kv: { policy: 'd2o', budget: { kind: 'tokens', tokens: 24 } } }],
  ];
  it.each(cases)('%s', async (_, c) => {
    const r = await policyCase(await getTestDevice(), c);
    check(r);
    expect(r.evictions).toBeGreaterThan(0);
    if (c.kv.policy === 'd2o' || c.kv.policy === 'd2o-uniform') expect(r.merges).toBeGreaterThan(0);
    else expect(r.merges).toBe(0);
    expect(r.mergedPositions > 0).toBe(r.merges > 0);
    expect(r.compared).toBe(c.steps);
    expect(r.chunks).toBe(Math.ceil(c.prompt.length / (c.prefillChunk ?? 512)));
    // A protected layer keeps every token, so only a fully compressed cache stops growing.
    if (!c.kv.protectedLayers) expect(new Set(r.bytes.slice(10)).size).toBe(1);
    else expect(r.bytes.at(-1)).toBeGreaterThan(r.bytes[0]);
    for (const l of (c.kv.protectedLayers as number[] | undefined) ?? []) expect(r.budgets[l]).toBeNull();
  });
});

describe('the reference-faithful options: GPU equals CPU on stories260K (5 layers)', () => {
  const prompt = golden.stories260K.greedy_ids.slice(0, 40);
  it.each<[string, PolicyCase]>([
    ['d2o 24 tokens, merge decided on the mean over heads', { model: stories260K.bin, prompt, steps: 150, kv: { policy: 'd2o', budget: { kind: 'tokens', tokens: 24 }, mergeDecision: 'mean' } }],
    ['d2o-uniform 16 tokens, mean decision, tiled kernels', { model: stories260K.bin, prompt, steps: 80, variant: 'tiled', kv: { policy: 'd2o-uniform', budget: { kind: 'tokens', tokens: 16 }, mergeDecision: 'mean' } }],
    ["d2o 20% with the reference's protected layers (0, 1, L - 1) and its merge decision", { model: stories260K.bin, prompt, steps: 100, kv: { policy: 'd2o', budget: { kind: 'ratio', ratio: 0.2 }, protectedLayers: 'reference', mergeDecision: 'mean' } }],
  ])('%s', async (_, c) => {
    const r = await policyCase(await getTestDevice(), c);
    check(r);
    expect(r.compared).toBe(c.steps);
    expect(r.evictions).toBeGreaterThan(0);
    expect(r.merges).toBeGreaterThan(0);
    const L = r.budgets.length;
    expect(L).toBe(5);
    if (c.kv.protectedLayers === 'reference') expect(r.budgets.map((b, l) => (b === null) === [0, 1, L - 1].includes(l))).toEqual(Array(L).fill(true));
  });
});
