/**
 * Chat turns never fail on a cache miss: a turn reuses the longest token prefix the engine holds,
 * and where the rendering diverges from it (an edited message, a regenerated reply, a template
 * that trims replies, a date in the system header) the full cache is cut back to the common
 * prefix and a compressing cache recomputes the conversation through the chunked prefill. In every
 * case the reply equals a fresh engine's reply to the same messages, and `cached_tokens` says what
 * was reused. Real chat templates (../shared/hf-real): TinyLlama's with its real tokenizer.json
 * (synthetic weights at its vocabulary), Llama 3.2's (trim, strftime_now date) over TinyStories.
 */
import { cpSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createEngine, type EngineOptions } from '../../src/engine/engine';
import type { ChatMessage } from '../../src/tokenizer';
import { HF_REAL, hfRealJson } from '../fixtures/hf-real';
import { editedTurnCase, fresh, request, story, tinyllamaChat } from '../cases/chat-reuse';
import { tinystories656k } from '../helpers/models';
import { scratchDir } from '../helpers/scratch';

const tinyllama = tinyllamaChat();

/** TinyStories-656K with Llama 3.2's real chat template (the weights linked, not copied). */
function llama32Template(): string {
  const dir = scratchDir('d2o-llama32-');
  for (const f of ['config.json', 'generation_config.json', 'tokenizer.json', 'special_tokens_map.json']) cpSync(join(tinystories656k.dir, f), join(dir, f));
  symlinkSync(join(tinystories656k.dir, 'model.safetensors'), join(dir, 'model.safetensors'));
  const config = JSON.parse(readFileSync(join(tinystories656k.dir, 'tokenizer_config.json'), 'utf8'));
  config.chat_template = hfRealJson(HF_REAL.llama32, 'tokenizer_config.json')!.chat_template;
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(config));
  return dir;
}

afterEach(() => void vi.useRealTimers());

describe('chat turns on a cache miss (TinyLlama template and tokenizer)', () => {

  it('d2o, chunks of 64: an edited earlier message recomputes the conversation instead of failing', async () => {
    const r = await editedTurnCase({ model: tinyllama, backend: 'cpu', kv: { policy: 'd2o', budget: 16 }, prefillChunk: 64 });
    expect(r.cached).toBe(0);
    expect(r.heldBefore).toBeGreaterThan(64);
    expect(r.promptTokens).toBeGreaterThan(64);
    expect(r.reply).toBe(r.freshReply);
    expect(r.withinBudget).toBe(true);
  });

  it('full cache: a turn reuses the longest common token prefix; an edited or regenerated turn cuts back to it', async () => {
    const o: EngineOptions = { model: tinyllama, backend: 'cpu' };
    const engine = await createEngine(o);
    try {
      const t1: ChatMessage[] = [{ role: 'system', content: 'You tell stories.' }, { role: 'user', content: story }];
      const r1 = await engine.chat.completions.create(request(t1));
      const promptIds = r1.usage.prompt_tokens;
      // Regenerate: the same request again reuses all of its prompt but the last id, and replies the same.
      const again = await engine.chat.completions.create(request(t1));
      expect(again.usage.prompt_tokens_details.cached_tokens).toBe(promptIds - 1);
      expect(again.choices[0].message.content).toBe(r1.choices[0].message.content);
      // Edit the last user message: everything before it is reused.
      const edited: ChatMessage[] = [t1[0], { role: 'user', content: story.replace('fox', 'owl') }];
      const r2 = await engine.chat.completions.create(request(edited));
      const cached = r2.usage.prompt_tokens_details.cached_tokens;
      expect(cached).toBeGreaterThan(5);
      expect(cached).toBeLessThan(promptIds - 10);
      expect(r2.choices[0].message.content).toBe(await fresh(o, edited));
    } finally {
      engine.dispose();
    }
  });
});

describe("chat turns on a cache miss (Llama 3.2's template: trimmed replies, today's date)", () => {
  const model = llama32Template();
  const system: ChatMessage = { role: 'system', content: 'You tell short stories.' };
  const user: ChatMessage = { role: 'user', content: 'Tell me about a cat.' };

  for (const kv of [undefined, { policy: 'd2o' as const, budget: 16 }]) {
    it(`${kv ? 'd2o' : 'full cache'}: a changed date and a trimmed reply never fail; replies equal a fresh engine's`, async () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      // Local times: the template's date is the local day (strftime_now), whatever TZ the machine has.
      vi.setSystemTime(new Date(2026, 10, 29, 23, 59));
      const o: EngineOptions = { model, backend: 'cpu', kv, prefillChunk: 32 };
      const engine = await createEngine(o);
      try {
        const r1 = await engine.chat.completions.create(request([system, user]));
        // The next day: the system header's date differs, early in the conversation.
        vi.setSystemTime(new Date(2026, 10, 30, 0, 1));
        // The reply as the client keeps it, with surrounding spaces the template trims away.
        const t2: ChatMessage[] = [system, user, { role: 'assistant', content: `  ${r1.choices[0].message.content}  \n` }, { role: 'user', content: 'Go on.' }];
        const r2 = await engine.chat.completions.create(request(t2));
        const cached = r2.usage.prompt_tokens_details.cached_tokens;
        if (kv) expect(cached).toBe(0);
        else {
          // Up to the date in the system header.
          expect(cached).toBeGreaterThan(3);
          expect(cached).toBeLessThan(r1.usage.prompt_tokens);
        }
        expect(r2.choices[0].message.content).toBe(await fresh(o, t2));
      } finally {
        engine.dispose();
      }
    });
  }
});
