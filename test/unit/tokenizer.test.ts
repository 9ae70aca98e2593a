import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PreTrainedTokenizer } from '@huggingface/transformers';
import { createTokenizer } from '../../src/tokenizer';
import { hfTokenizer } from '../../src/tokenizer/hf';
import { loadModel } from '../../src/model/load';
import { golden, stories260K, tinystories656k } from '../helpers/models';
import { rng } from '../cases/random';

const tsJson = JSON.parse(readFileSync(join(tinystories656k.dir, 'tokenizer.json'), 'utf8'));
const tsConfig = JSON.parse(readFileSync(join(tinystories656k.dir, 'tokenizer_config.json'), 'utf8'));

function randomTexts(n: number): string[] {
  const r = rng(42);
  const alphabet = ['Once', ' upon', ' a', ' time', 'Lily', ' ', '  ', '\n', '\t', '!', '?', '"', "'", '42', '3.14', 'é', 'ü', '中文', '日本', '🙂', '👍🏽', 'naïve', '—', 'ß', 'x', 'Q', '\u00a0', ',', '.'];
  return Array.from({ length: n }, () => Array.from({ length: 1 + Math.floor(r() * 12) }, () => alphabet[Math.floor(r() * alphabet.length)]).join(''));
}

describe('Hugging Face tokenizer (tokenizers.js) on TinyStories-656K', () => {
  const tok = hfTokenizer(tsJson, tsConfig, [2]);

  it('decodes the golden ids to the golden text (continuation after BOS, special tokens kept)', () => {
    const g = golden['tinystories-656k'];
    expect(tok.decode(g.greedy_ids.slice(1))).toBe(g.text);
  });

  it('agrees with @huggingface/transformers on varied strings, built offline from the same JSON', () => {
    const ref = new PreTrainedTokenizer(tsJson, tsConfig);
    for (const text of randomTexts(300)) {
      expect(tok.encode(text), JSON.stringify(text)).toEqual(ref.encode(text));
      expect(tok.decode(tok.encode(text, { addBos: false }))).toBe(ref.decode(ref.encode(text, { add_special_tokens: false })));
    }
  });

  it('round-trips ordinary text and knows its special tokens', () => {
    for (const text of ['Once upon a time, there was a cat.', 'Tom said, "Hello!"\nThe end.']) {
      expect(tok.decode(tok.encode(text, { addBos: false }))).toBe(text);
    }
    expect(tok.bosId).toBe(1);
    expect(tok.eosIds).toContain(2);
    expect(tok.encode('Hi')[0]).toBe(1);
  });

  it('streams pieces that concatenate to the full decode, never splitting a character', () => {
    const ids = [...golden['tinystories-656k'].greedy_ids.slice(1), ...tok.encode('🙂 中文 naïve', { addBos: false })];
    const d = tok.createDecoder();
    let text = '';
    for (const id of ids) {
      const piece = d.push(id);
      expect(piece).not.toMatch(/\uFFFD/);
      text += piece;
    }
    expect(text + d.flush()).toBe(tok.decode(ids));
  });

  it('renders chat templates (Llama-3 and Mistral style) and falls back to plain text without one', () => {
    const msgs = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
    ];
    const llama3 = hfTokenizer(tsJson, {
      ...tsConfig,
      chat_template: "{{ bos_token }}{% for m in messages %}<|start_header_id|>{{ m.role }}<|end_header_id|>\n\n{{ m.content }}<|eot_id|>{% endfor %}{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}",
    });
    expect(llama3.applyChatTemplate(msgs)).toBe('<|start_story|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n');
    const mistral = hfTokenizer(tsJson, { ...tsConfig, chat_template: "{{ bos_token }}{% for m in messages %}{% if m.role == 'user' %}[INST] {{ m.content }} [/INST]{% elif m.role == 'assistant' %}{{ m.content }}{{ eos_token }}{% endif %}{% endfor %}" });
    expect(mistral.applyChatTemplate([...msgs, { role: 'assistant', content: 'Hello' }])).toBe('<|start_story|>[INST] Hi [/INST]Hello<|end_story|>');
    expect(tok.applyChatTemplate(msgs)).toBe('Be brief.\nHi');
  });
});

describe('llama2.c tokenizer on stories260K', async () => {
  const model = await loadModel(stories260K.bin);
  const tok = createTokenizer(model.tokenizer);

  it('decodes the golden ids as llama2.c does (space after BOS stripped, BOS piece kept)', () => {
    const g = golden.stories260K;
    expect(tok.decode(g.greedy_ids.slice(1), 1)).toBe(g.text);
  });

  it('encodes like run.c: BOS, dummy prefix, best-score merges; known encodings from the golden story', () => {
    const g = golden.stories260K;
    const text = tok.decode(g.greedy_ids.slice(1, 30), 1);
    expect(tok.encode(text)).toEqual(g.greedy_ids.slice(0, 30));
    expect(tok.encode('')).toEqual([1]);
  });

  it('round-trips text, with byte fallback for characters outside the vocabulary', () => {
    for (const text of ['Lily went to the park.', 'Hello 🙂 naïve 中文']) {
      expect(tok.decode(tok.encode(text).slice(1), 1)).toBe(text);
    }
    const d = tok.createDecoder(1);
    const ids = tok.encode('a 🙂 b').slice(1);
    expect(ids.map((id) => d.push(id)).join('') + d.flush()).toBe('a 🙂 b');
  });
});
