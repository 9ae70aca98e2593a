/**
 * tokenizer.json through Hugging Face's own JS libraries: `@huggingface/tokenizers` and
 * `@huggingface/jinja` (what `@huggingface/transformers` is built on), so the library bundle does
 * not carry ONNX Runtime; tests cross-check against `@huggingface/transformers` itself.
 */
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { Template } from '@huggingface/jinja';
import type { ChatMessage, Tokenizer } from './types';
import { windowedDecoder } from './stream-decoder';

type Json = Record<string, unknown>;

function tokenString(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as Json).content === 'string') return (v as Json).content as string;
  return null;
}

export function hfTokenizer(tokenizerJson: unknown, tokenizerConfig: Json | null, eosIds: number[] = []): Tokenizer {
  const config = tokenizerConfig ?? {};
  const tok = new HfTokenizer(tokenizerJson as object, config);
  const bosToken = tokenString(config.bos_token);
  const eosToken = tokenString(config.eos_token);
  const bosId = bosToken ? (tok.token_to_id(bosToken) ?? null) : null;
  const eos = [...new Set([...eosIds, ...(eosToken && tok.token_to_id(eosToken) !== undefined ? [tok.token_to_id(eosToken)!] : [])])];
  const templateSource = typeof config.chat_template === 'string' ? config.chat_template : null;
  const template = templateSource ? new Template(templateSource) : null;
  const decode = (ids: readonly number[]) => tok.decode([...ids], { skip_special_tokens: false });

  return {
    vocabSize: tok.get_vocab(true).size,
    bosId,
    eosIds: eos,
    encode: (text, opts = {}) => tok.encode(text, { add_special_tokens: opts.addBos ?? true }).ids,
    decode,
    createDecoder: () => windowedDecoder(decode),
    applyChatTemplate(messages: readonly ChatMessage[], opts = {}) {
      // Story models have no template: their "chat" is the running text itself.
      if (!template) return messages.map((m) => m.content).join('\n');
      return template.render({
        messages,
        add_generation_prompt: opts.addGenerationPrompt ?? true,
        bos_token: bosToken ?? '',
        eos_token: eosToken ?? '',
      });
    },
  };
}
