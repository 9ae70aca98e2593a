import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { env, PreTrainedTokenizer } from '@huggingface/transformers';
import { D2OError, ModelFormatError } from '../../src/errors';
import { createTokenizer } from '../../src/tokenizer';
import { tinystories656k } from '../helpers/models';

env.allowRemoteModels = false;

const tsJson = JSON.parse(readFileSync(join(tinystories656k.dir, 'tokenizer.json'), 'utf8'));
const tsConfig = JSON.parse(readFileSync(join(tinystories656k.dir, 'tokenizer_config.json'), 'utf8'));

// Meta-Llama-3-Instruct's and Mistral-7B-Instruct-v0.1's templates, rendered over TinyStories' vocabulary.
const llama3 =
  "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";
const mistral =
  "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token + ' ' }}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}";

const withTemplate = (chat_template: unknown, extra: Record<string, unknown> = {}) => {
  const config = { ...tsConfig, ...extra, chat_template };
  return { tok: createTokenizer({ kind: 'hf', tokenizerJson: tsJson, tokenizerConfig: config }), ref: new PreTrainedTokenizer(tsJson, config) };
};

describe('chat templates', () => {
  const system = { role: 'system', content: 'Be brief.' };
  const user = { role: 'user', content: '  Hi  ' };

  it('renders a Llama-3-style template as transformers does', () => {
    const { tok, ref } = withTemplate(llama3, { bos_token: '<|begin_of_text|>' });
    const msgs = [system, user];
    expect(tok.applyChatTemplate(msgs, { addGenerationPrompt: true })).toBe(
      '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n',
    );
    for (const addGenerationPrompt of [true, false]) {
      expect(tok.applyChatTemplate(msgs, { addGenerationPrompt })).toBe(ref.apply_chat_template(msgs, { tokenize: false, add_generation_prompt: addGenerationPrompt }));
    }
  });

  it('renders a Mistral-style template as transformers does, and reports raise_exception as a D2OError', () => {
    const { tok, ref } = withTemplate(mistral);
    const msgs = [
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello' },
      { role: 'user', content: 'How are you?' },
    ];
    expect(tok.applyChatTemplate(msgs)).toBe('<|start_story|>[INST] Hi [/INST]Hello<|end_story|> [INST] How are you? [/INST]');
    expect(tok.applyChatTemplate(msgs)).toBe(ref.apply_chat_template(msgs, { tokenize: false, add_generation_prompt: true }));
    expect(() => tok.applyChatTemplate([system, user])).toThrow(D2OError);
    expect(() => tok.applyChatTemplate([system, user])).toThrow(/roles must alternate/);
  });

  it('renders the template text the tokenizer then reads back as special tokens', () => {
    const { tok } = withTemplate(mistral);
    const ids = tok.encode(tok.applyChatTemplate([{ role: 'user', content: 'Hi' }]), { addBos: false });
    expect(ids[0]).toBe(tok.bosId);
  });

  it('picks the "default" of several named templates', () => {
    const { tok } = withTemplate([
      { name: 'tool_use', template: 'tools' },
      { name: 'default', template: '{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}' },
    ]);
    expect(tok.applyChatTemplate([{ role: 'user', content: 'x' }])).toBe('<user>x');
  });

  it('falls back to the message contents, one per line, for models without a template (TinyStories)', () => {
    const tok = createTokenizer({ kind: 'hf', tokenizerJson: tsJson, tokenizerConfig: tsConfig });
    expect(tok.applyChatTemplate([system, { role: 'user', content: 'Once upon a time' }])).toBe('Be brief.\nOnce upon a time');
    expect(createTokenizer({ kind: 'hf', tokenizerJson: tsJson, tokenizerConfig: null }).applyChatTemplate([user])).toBe('  Hi  ');
  });

  it('rejects a template that does not parse', () => {
    expect(() => withTemplate('{% for m in messages %}')).toThrow(ModelFormatError);
  });

  // A template is code from the model's files: rendering it must not hang the page.
  it.each([
    ['a huge range', '{% for i in range(30000000) %}x{% endfor %}', /range\(\) of more than 100000 items/],
    ['nested loops', '{% for i in range(100000) %}{% for j in range(100000) %}{{ j }}{% endfor %}{% endfor %}', /more than 500000 evaluation steps/],
    ['a string doubled', "{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}", /a string longer than 16000000 characters/],
    ['a huge join', "{{ range(100000) | join('xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx') }}", /a string longer than 16000000 characters/],
    ['an indent past the longest string', "{{ 'x' | indent(1000000000, true) }}", /too costly to render: Invalid string length/],
  ])('refuses a template too costly to render (%s) with a typed error, then still tokenizes', (_, source, message) => {
    const { tok } = withTemplate(source);
    const started = performance.now();
    let error: unknown;
    try {
      tok.applyChatTemplate([user]);
    } catch (e) {
      error = e;
    }
    expect(performance.now() - started).toBeLessThan(5000);
    expect(error).toBeInstanceOf(ModelFormatError);
    expect((error as ModelFormatError).problem).toBe('template-too-costly');
    expect((error as Error).message).toMatch(message);
    expect(tok.decode(tok.encode('Once upon a time'))).toContain('Once upon a time');
  });

  it('renders long conversations of a real-size template within the budget', () => {
    const { tok, ref } = withTemplate(llama3, { bos_token: '<|begin_of_text|>' });
    const long = Array.from({ length: 2000 }, (_, i) => ({ role: i % 2 ? 'assistant' : 'user', content: `turn ${i}` }));
    expect(tok.applyChatTemplate(long)).toBe(ref.apply_chat_template(long, { tokenize: false, add_generation_prompt: true }));
  });
});
