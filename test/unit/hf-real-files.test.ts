/**
 * The files users have: the real config.json, generation_config.json, tokenizer_config.json chat
 * templates and TinyLlama's tokenizer.json of ../shared/hf-real (see each PROVENANCE.txt), checked
 * against @huggingface/transformers: configs parse to what the files say, every chat template
 * renders as transformers renders it, TinyLlama's tokenizer encodes as transformers does, and a
 * TinyLlama-config model with synthetic weights (shrunk to 1 layer and 64 wide; its real vocabulary
 * and tokenizer) answers chat.completions from the ids transformers' apply_chat_template gives.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { env, PreTrainedTokenizer } from '@huggingface/transformers';
import { parseHfConfig } from '../../src/model/hf';
import { createTokenizer } from '../../src/tokenizer';
import { createEngine } from '../../src/engine/engine';
import { HF_REAL, hfRealDir, hfRealJson, syntheticHfFolder } from '../fixtures/hf-real';
import { memoryFolder } from '../fixtures/model-builders';

env.allowRemoteModels = false;

const tinyllamaTokenizer = hfRealJson(HF_REAL.tinyllama, 'tokenizer.json')!;
const tinyllamaConfig = hfRealJson(HF_REAL.tinyllama, 'tokenizer_config.json')!;
const mistralTemplate = readFileSync(join(hfRealDir, 'Mistral-7B-Instruct-v0.2-template', 'chat_template.jinja'), 'utf8');

describe('config.json and generation_config.json as shipped', () => {
  const parse = (m: string) => parseHfConfig(hfRealJson(m, 'config.json')!, hfRealJson(m, 'generation_config.json'));
  it('TinyLlama-1.1B-Chat: llama, 22 layers, 32 heads over 4 KV heads, untied', () => {
    expect(parse(HF_REAL.tinyllama)).toMatchObject({ architecture: 'llama', hiddenSize: 2048, numLayers: 22, numHeads: 32, numKvHeads: 4, headDim: 64, vocabSize: 32000, tieWordEmbeddings: false, eosTokenIds: [2] });
  });
  it('SmolLM2-135M-Instruct: llama, 576 wide, 9 heads over 3, tied, theta 1e5', () => {
    expect(parse(HF_REAL.smollm2)).toMatchObject({ architecture: 'llama', hiddenSize: 576, numLayers: 30, numHeads: 9, numKvHeads: 3, headDim: 64, vocabSize: 49152, tieWordEmbeddings: true, rope: { theta: 100000 } });
  });
  it('Llama-3.2-1B-Instruct: llama3 RoPE scaling, tied, the three stop ids of generation_config', () => {
    expect(parse(HF_REAL.llama32)).toMatchObject({
      architecture: 'llama', hiddenSize: 2048, numLayers: 16, numHeads: 32, numKvHeads: 8, vocabSize: 128256, tieWordEmbeddings: true,
      rope: { theta: 500000, scaling: { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 } },
      eosTokenIds: [128001, 128008, 128009],
    });
  });
  it('Qwen2.5-0.5B-Instruct: qwen2', () => {
    expect(parse(HF_REAL.qwen25)).toMatchObject({ architecture: 'qwen2', hiddenSize: 896, numHeads: 14, numKvHeads: 2, vocabSize: 151936 });
  });
});

describe('chat templates as transformers renders them', () => {
  const conversations = [
    [{ role: 'user', content: 'Hi there!' }],
    [
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Name a colour.' },
      { role: 'assistant', content: 'Blue.' },
      { role: 'user', content: '  And another?  ' },
    ],
  ];
  /** The model's template and special-token strings over TinyLlama's vocabulary (rendering is text only). */
  const templates: [string, Record<string, unknown>][] = [
    ...Object.values(HF_REAL).map((m): [string, Record<string, unknown>] => {
      const c = hfRealJson(m, 'tokenizer_config.json')!;
      return [m, { chat_template: c.chat_template, bos_token: c.bos_token ?? null, eos_token: c.eos_token }];
    }),
    ['Mistral-7B-Instruct-v0.2', { chat_template: mistralTemplate, bos_token: '<s>', eos_token: '</s>' }],
  ];
  it.each(templates)('%s', (_, special) => {
    const config = { ...tinyllamaConfig, ...special };
    const ours = createTokenizer({ kind: 'hf', tokenizerJson: tinyllamaTokenizer, tokenizerConfig: config });
    const ref = new PreTrainedTokenizer(tinyllamaTokenizer, config);
    expect(ours.hasChatTemplate).toBe(true);
    for (const msgs of conversations) {
      // Mistral's template accepts user/assistant turns only (raise_exception otherwise).
      if (special.chat_template === mistralTemplate && msgs[0].role === 'system') continue;
      for (const addGenerationPrompt of [true, false]) {
        const want = ref.apply_chat_template(msgs, { tokenize: false, add_generation_prompt: addGenerationPrompt }) as string;
        expect(ours.applyChatTemplate(msgs, { addGenerationPrompt })).toBe(want);
      }
    }
  });
});

describe('TinyLlama tokenizer.json encodes as transformers does', () => {
  const ours = createTokenizer({ kind: 'hf', tokenizerJson: tinyllamaTokenizer, tokenizerConfig: tinyllamaConfig });
  const ref = new PreTrainedTokenizer(tinyllamaTokenizer, tinyllamaConfig);
  it.each([
    'Hello world',
    '  leading spaces and trailing  ',
    'Numbers 1234567 and 3.14159, symbols #$%&*!',
    'Unicode: café, naïve, 日本語, emoji 🦙🚀',
    'Lines\nand\ttabs\n\n',
    '<|user|>\nHi</s>\n<|assistant|>\n',
  ])('%j', (text) => {
    expect(ours.encode(text)).toEqual(ref.encode(text));
    expect(ours.encode(text, { addBos: false })).toEqual(ref.encode(text, { add_special_tokens: false }));
    expect(ours.decode(ours.encode(text, { addBos: false }))).toBe(ref.decode(ref.encode(text, { add_special_tokens: false })));
  });
});

describe('a TinyLlama-config model answers from the ids transformers gives', () => {
  it('chat.completions prompt = apply_chat_template(tokenize) of the real template and tokenizer', async () => {
    const config = { ...hfRealJson(HF_REAL.tinyllama, 'config.json')!, num_hidden_layers: 1, hidden_size: 64, intermediate_size: 128, num_attention_heads: 4, num_key_value_heads: 2 };
    const weights = syntheticHfFolder(config, hfRealJson(HF_REAL.tinyllama, 'generation_config.json'));
    const files = Object.fromEntries(await Promise.all((await weights.list()).map(async (f) => [f, await weights.read(f)] as const)));
    const source = memoryFolder({ ...files, 'tokenizer.json': tinyllamaTokenizer, 'tokenizer_config.json': tinyllamaConfig });
    const engine = await createEngine({ model: { source }, backend: 'cpu' });
    const messages = [
      { role: 'system' as const, content: 'You are a friendly chatbot.' },
      { role: 'user' as const, content: 'How many helicopters can a human eat in one sitting?' },
    ];
    const ref = new PreTrainedTokenizer(tinyllamaTokenizer, tinyllamaConfig);
    const ids = ref.apply_chat_template(messages, { tokenize: true, add_generation_prompt: true, return_tensor: false, return_dict: false }) as number[];
    const rendered = engine.tokenizer!.applyChatTemplate(messages, { addGenerationPrompt: true });
    expect(engine.tokenizer!.encode(rendered, { addBos: false })).toEqual(ids);
    const r = await engine.chat.completions.create({ messages, max_tokens: 4, temperature: 0 });
    expect(r.usage!.prompt_tokens).toBe(ids.length);
    engine.dispose();
  });
});
