import { cpSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/engine/engine';
import type { ChatCompletionChunk } from '../../src/engine/chat-completions';
import { abortCase, continueCase, overflowCase, streamCase } from '../cases/engine';
import { golden, stories260K, tinystories656k } from '../helpers/models';
import { scratchDir } from '../helpers/scratch';

const g = golden['tinystories-656k'];

describe('engine.generate (cpu backend)', () => {
  const o = { model: tinystories656k.dir, backend: 'cpu' as const };

  it('streams the golden ids, and the chunks add up to the text', async () => {
    const r = await streamCase(null, o, g.prompt_ids, { maxTokens: 200, stopAtEos: false });
    expect([...g.prompt_ids, ...r.ids]).toEqual(g.greedy_ids);
    expect(r.chunkIds).toEqual(r.ids);
    expect(r.joined).toBe(r.text);
    expect(r.text).toBe(g.text);
    expect(r.finishReason).toBe('length');
    expect(r.stats.completionTokens).toBe(200);
    expect(r.stats.decodeTokensPerSecond).toBeGreaterThan(0);
  });

  it('ends before a stop string, never showing part of it', async () => {
    const stop = g.text.slice(40, 52);
    const r = await streamCase(null, o, g.prompt_ids, { maxTokens: 200, stopAtEos: false, stop: [stop] });
    expect(r.finishReason).toBe('stop');
    expect(r.text).toBe(g.text.slice(0, g.text.indexOf(stop)));
    expect(r.joined).toBe(r.text);
  });

  it('stops at EOS from a text prompt', async () => {
    const r = await streamCase(null, o, 'Once upon a time', { maxTokens: 400 });
    expect(r.finishReason).toBe('stop');
    expect(r.ids.at(-1)).toBe(2);
    expect(r.joined).toBe(r.text);
  });

  it('an abort rejects with AbortError and leaves the engine usable', async () => {
    const r = await abortCase(null, o, g.prompt_ids, 5);
    expect(r.error).toBe('AbortError');
    expect(r.seen).toBeLessThan(10);
    expect([...g.prompt_ids, ...r.again]).toEqual(g.greedy_ids.slice(0, 21));
  });

  it('continue appends to the context: the same as one generation over everything', async () => {
    const r = await continueCase(null, o, g.greedy_ids.slice(0, 30), g.greedy_ids.slice(100, 110));
    expect(r.continued).toEqual(r.whole);
    expect(r.contextAfter).toBe(30 + 10 + 10);
  });

  it('a prompt over the context is a ContextOverflowError', async () => {
    expect((await overflowCase(null, { model: stories260K.bin, backend: 'cpu' }, 600)).error).toBe('ContextOverflowError');
  });

  it('rejects an impossible budget before loading anything', async () => {
    await expect(createEngine({ model: '/nonexistent', kv: { policy: 'd2o', budget: '2' } })).rejects.toThrow(RangeError);
  });
});

/** TinyStories-656K with a chat template added (the weights linked, not copied). */
function chatModel(template = "{{ bos_token }}{% for m in messages %}{{ m['role'] }}:{{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}"): string {
  const dir = scratchDir('d2o-chat-');
  for (const f of ['config.json', 'generation_config.json', 'tokenizer.json', 'special_tokens_map.json']) cpSync(join(tinystories656k.dir, f), join(dir, f));
  symlinkSync(join(tinystories656k.dir, 'model.safetensors'), join(dir, 'model.safetensors'));
  const config = JSON.parse(readFileSync(join(tinystories656k.dir, 'tokenizer_config.json'), 'utf8'));
  config.chat_template = template;
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(config));
  return dir;
}

describe('engine.chat.completions.create (cpu backend)', () => {
  it('a chat template too costly to render is a typed error before any step; the engine still generates', async () => {
    const engine = await createEngine({ model: chatModel('{% for i in range(30000000) %}x{% endfor %}'), backend: 'cpu' });
    const baseline = await engine.generate('Once upon a time', { maxTokens: 8, temperature: 0 });
    const request = { messages: [{ role: 'user' as const, content: 'Hi' }], max_tokens: 8 };
    const held = engine.contextLength;
    await expect(engine.chat.completions.create(request)).rejects.toMatchObject({ name: 'ModelFormatError', problem: 'template-too-costly' });
    expect(engine.contextLength).toBe(held);
    expect(await engine.generate('Once upon a time', { maxTokens: 8, temperature: 0 })).toEqual(baseline);
    await engine.dispose();
  });

  it('returns the OpenAI shapes, streamed and not, and reuses the compressed cache across turns', async () => {
    const engine = await createEngine({ model: chatModel(), backend: 'cpu', kv: { policy: 'd2o', budget: 16 } });
    const first = await engine.chat.completions.create({ messages: [{ role: 'user', content: 'Tell me a story about a cat.' }], max_tokens: 40, temperature: 0, seed: 1 });
    expect(first.object).toBe('chat.completion');
    expect(first.choices[0].message.role).toBe('assistant');
    expect(first.choices[0].message.content.length).toBeGreaterThan(0);
    expect(['stop', 'length']).toContain(first.choices[0].finish_reason);
    expect(first.usage.prompt_tokens_details.cached_tokens).toBe(0);
    expect(first.usage.total_tokens).toBe(first.usage.prompt_tokens + first.usage.completion_tokens);

    const held = engine.contextLength;
    const messages = [
      { role: 'user', content: 'Tell me a story about a cat.' },
      { role: 'assistant', content: first.choices[0].message.content },
      { role: 'user', content: 'And then?' },
    ];
    const stream = await engine.chat.completions.create({ messages, max_tokens: 30, temperature: 0, stream: true, stream_options: { include_usage: true } });
    const chunks: ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === chunks[0].id)).toBe(true);
    const finish = chunks.filter((c) => c.choices[0]?.finish_reason);
    expect(finish).toHaveLength(1);
    const usage = chunks.at(-1)!.usage!;
    // The second turn fed only its new text: the held conversation was reused, not recomputed.
    expect(usage.prompt_tokens_details.cached_tokens).toBe(held);
    expect(usage.prompt_tokens).toBeGreaterThan(held);
    expect(usage.extra.kv.layers.every((l) => l.evictions > 0)).toBe(true);
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe((await stream.result).choices[0].message.content);

    // A conversation that does not extend the held one starts over.
    const other = await engine.chat.completions.create({ messages: [{ role: 'user', content: 'A dog.' }], max_tokens: 5, temperature: 0 });
    expect(other.usage.prompt_tokens_details.cached_tokens).toBe(0);
    engine.dispose();
  });
});
