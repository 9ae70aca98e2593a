/**
 * tokenizer.json through `@huggingface/tokenizers` and `@huggingface/jinja`, the two packages
 * `@huggingface/transformers` builds its tokenizers on: importing transformers itself would put
 * ONNX Runtime Web in the library bundle (docs/tokenizer-bundle.md). Tests cross-check against it.
 */
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { ModelFormatError } from '../errors';
import { chatTemplate, configToken } from './chat';
import { decoding } from './decoding';
import { plainChat } from './plain-chat';
import type { Tokenizer } from './types';

type Json = Record<string, unknown>;

export function hfTokenizer(tokenizerJson: unknown, tokenizerConfig: Json | null, eosIds: number[] = []): Tokenizer {
  const config = tokenizerConfig ?? {};
  let tok: HfTokenizer;
  try {
    tok = new HfTokenizer(tokenizerJson as object, config);
  } catch (e) {
    throw new ModelFormatError('bad-config', `not a usable tokenizer: ${(e as Error).message}`, 'tokenizer.json');
  }
  const idOf = (key: string) => {
    const t = configToken(config, key);
    return t === null ? undefined : tok.token_to_id(t);
  };
  // Without tokenizer_config.json, BOS is what the post-processor puts in front of a text.
  const framed = tok.encode('a', { add_special_tokens: true }).ids;
  const plain = tok.encode('a', { add_special_tokens: false }).ids;
  const bosId = idOf('bos_token') ?? (framed.length > plain.length && framed[0] !== plain[0] ? framed[0] : null);
  const eos = idOf('eos_token');
  // No clean_up_tokenization_spaces (" ." -> "."): it is lossy and reaches across token
  // boundaries, so streamed text could not equal decode(); tokenizers (Rust) and TGI skip it too.
  const text = (ids: number[]) => (ids.length ? tok.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false }) : '');

  const chat = chatTemplate(tokenizerConfig);
  return {
    vocabSize: tok.get_vocab(true).size,
    bosId,
    eosIds: [...new Set([...eosIds, ...(eos === undefined ? [] : [eos])])],
    encode: (s, opts = {}) => tok.encode(s, { add_special_tokens: opts.addBos ?? true }).ids,
    ...decoding(text, bosId),
    hasChatTemplate: chat !== plainChat,
    applyChatTemplate: chat,
  };
}
