/**
 * Sampling defaults from generation_config.json (the real files in ../shared/hf-real), in
 * engine.generate and engine.chat.completions, and a fresh seed per request unless one is given.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generationDefaults } from '../../src/engine/generation-defaults';
import { createEngine } from '../../src/engine/engine';
import { ModelFormatError } from '../../src/errors';
import { HF_REAL, hfRealJson } from '../fixtures/hf-real';
import { memoryFolder } from '../fixtures/model-builders';
import { tinystories656k } from '../helpers/models';

describe('generationDefaults', () => {
  it('the shipped values, with Transformers\' top_k 50 where do_sample is true and top_k absent', () => {
    expect(generationDefaults(hfRealJson(HF_REAL.llama32, 'generation_config.json'))).toEqual({ temperature: 0.6, topP: 0.9, topK: 50 });
    expect(generationDefaults(hfRealJson(HF_REAL.qwen25, 'generation_config.json'))).toEqual({ temperature: 0.7, topP: 0.8, topK: 20, repetitionPenalty: 1.1 });
    expect(generationDefaults(hfRealJson(HF_REAL.smollm2, 'generation_config.json'))).toEqual({});
    expect(generationDefaults(hfRealJson(HF_REAL.tinyllama, 'generation_config.json'))).toEqual({});
    expect(generationDefaults(null)).toEqual({});
  });
  it('do_sample false is greedy; without do_sample only the fields given count', () => {
    expect(generationDefaults({ do_sample: false, temperature: 0.6 })).toEqual({ greedy: true });
    expect(generationDefaults({ temperature: 0.5 })).toEqual({ temperature: 0.5 });
  });
  it.each([{ temperature: '0.7' }, { top_p: 0 }, { top_k: 2.5 }, { repetition_penalty: -1 }, { do_sample: 'yes' }])('refuses %j with a ModelFormatError', (gc) => {
    expect(() => generationDefaults(gc)).toThrow(ModelFormatError);
  });
});

/** TinyStories-656K (CPU) shipped with Qwen2.5-Instruct's generation_config.json. */
function modelWith(generationConfig: object) {
  const read = (f: string) => new Uint8Array(readFileSync(join(tinystories656k.dir, f)));
  return memoryFolder({
    'config.json': read('config.json'),
    'model.safetensors': read('model.safetensors'),
    'tokenizer.json': read('tokenizer.json'),
    'tokenizer_config.json': read('tokenizer_config.json'),
    'generation_config.json': generationConfig,
  });
}

describe('the engine samples with the model\'s defaults and a fresh seed per request', async () => {
  const qwen = hfRealJson(HF_REAL.qwen25, 'generation_config.json')!;
  const engine = await createEngine({ model: { source: modelWith({ ...qwen, eos_token_id: 2, bos_token_id: 1 }) }, backend: 'cpu' });
  const prompt = 'Once upon a time';

  it('generate: the defaults apply, each call draws its own seed, a given seed repeats', async () => {
    expect(engine.samplingDefaults).toEqual({ temperature: 0.7, topP: 0.8, topK: 20, repetitionPenalty: 1.1 });
    const a = await engine.generate(prompt, { maxTokens: 24, stopAtEos: false }).result;
    const b = await engine.generate(prompt, { maxTokens: 24, stopAtEos: false }).result;
    expect(a.sampling).toMatchObject({ temperature: 0.7, topP: 0.8, topK: 20, repetitionPenalty: 1.1 });
    expect(a.sampling.seed).not.toBe(b.sampling.seed);
    expect(a.ids).not.toEqual(b.ids);
    const again = await engine.generate(prompt, { maxTokens: 24, stopAtEos: false, seed: a.sampling.seed }).result;
    expect(again.ids).toEqual(a.ids);
    // A call's own values win over the defaults.
    expect((await engine.generate(prompt, { maxTokens: 2, temperature: 0 }).result).sampling).toMatchObject({ temperature: 0, topK: 20 });
  });

  it('chat.completions: identical requests differ unless they give a seed', async () => {
    const req = { messages: [{ role: 'user' as const, content: prompt }], max_tokens: 24 };
    const text = async (r: object) => (await engine.chat.completions.create({ ...req, ...r })).choices[0].message.content;
    expect(await text({})).not.toBe(await text({}));
    expect(await text({ seed: 7 })).toBe(await text({ seed: 7 }));
  });

  it('createEngine\'s sampling option overrides the file', async () => {
    const e = await createEngine({ model: { source: modelWith({ ...qwen, eos_token_id: 2, bos_token_id: 1 }) }, backend: 'cpu', sampling: { topK: 5 } });
    expect(e.samplingDefaults).toEqual({ temperature: 0.7, topP: 0.8, topK: 5, repetitionPenalty: 1.1 });
    e.dispose();
  });
});
