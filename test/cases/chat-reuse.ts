/** Chat turns on a cache miss, the same on every backend and route (test/unit/chat-reuse.test.ts). */
import type { GpuContext } from '../../src/gpu/device';
import { createEngine, type EngineOptions } from '../../src/engine/engine';
import type { ChatMessage } from '../../src/tokenizer';
import { HF_REAL, hfRealJson, syntheticHfFolder } from '../fixtures/hf-real';

/** TinyLlama-1.1B-Chat's real config (shrunk to 2 small layers), tokenizer and template, synthetic weights. */
export function tinyllamaChat() {
  const config = { ...hfRealJson(HF_REAL.tinyllama, 'config.json')!, num_hidden_layers: 2, hidden_size: 64, intermediate_size: 128, num_attention_heads: 4, num_key_value_heads: 2 };
  const files = Object.fromEntries(['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json'].map((f) => [f, hfRealJson(HF_REAL.tinyllama, f)!]));
  return { source: syntheticHfFolder(config, hfRealJson(HF_REAL.tinyllama, 'generation_config.json'), { files, scale: 0.5 }) };
}

export const story = 'Once upon a time there was a little fox who lived in the woods near a river. '.repeat(3);

export const request = (messages: ChatMessage[]) => ({ messages, max_tokens: 6, temperature: 0 });

/** The reply a fresh engine gives to `messages`. */
export async function fresh(o: EngineOptions, messages: ChatMessage[]): Promise<string> {
  const engine = await createEngine(o);
  try {
    return (await engine.chat.completions.create(request(messages))).choices[0].message.content;
  } finally {
    engine.dispose();
  }
}

/**
 * Three turns on TinyLlama's template; the third edits the assistant's first reply, so its ids
 * diverge inside the held context (the case: it failed with ContextOverflowError).
 */
export async function editedTurnCase(o: EngineOptions, ctx: GpuContext | null = null) {
  const opts = { ...o, model: o.model ?? tinyllamaChat(), gpu: ctx ?? undefined };
  const engine = await createEngine(opts);
  try {
    const t1: ChatMessage[] = [{ role: 'user', content: story }];
    const r1 = await engine.chat.completions.create(request(t1));
    const t2: ChatMessage[] = [...t1, { role: 'assistant', content: r1.choices[0].message.content }, { role: 'user', content: 'And then?' }];
    const r2 = await engine.chat.completions.create(request(t2));
    const t3: ChatMessage[] = [...t1, { role: 'assistant', content: 'The fox was happy.' }, { role: 'user', content: 'And then?' }, { role: 'assistant', content: r2.choices[0].message.content }, { role: 'user', content: 'The end?' }];
    const heldBefore = engine.contextLength;
    const r3 = await engine.chat.completions.create(request(t3));
    const chunk = o.prefillChunk ?? 512;
    return {
      heldBefore,
      cached: r3.usage.prompt_tokens_details.cached_tokens,
      promptTokens: r3.usage.prompt_tokens,
      reply: r3.choices[0].message.content,
      freshReply: await fresh(opts, t3),
      withinBudget: r3.usage.extra.kv.layers.every((l) => l.budget === null || l.occupancy <= l.budget + chunk + 1),
    };
  } finally {
    engine.dispose();
  }
}
