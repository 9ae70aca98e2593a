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

/**
 * Every id tokenizer.json assigns is a non-negative integer, and below the model's vocabulary when
 * given: the tokenizers library would fail only when it meets a bad one mid-generation, and an id
 * past the embeddings would read memory that is not a token's.
 */
function checkIds(json: unknown, modelVocab: number | undefined): void {
  const bad = (msg: string) => new ModelFormatError('bad-config', msg, 'tokenizer.json');
  if (typeof json !== 'object' || json === null) throw bad('not a JSON object');
  const { model, added_tokens: added } = json as { model?: { vocab?: unknown }; added_tokens?: unknown };
  const vocab = model?.vocab;
  let ids: unknown[] = [];
  // Unigram lists [piece, score] pairs (the id is the index); BPE, WordPiece and WordLevel map piece -> id.
  if (Array.isArray(vocab)) {
    if (!vocab.every((e) => Array.isArray(e) && typeof e[0] === 'string' && typeof e[1] === 'number')) throw bad('a Unigram vocabulary entry is not a [piece, score] pair');
    ids.push(vocab.length - 1);
  } else if (typeof vocab === 'object' && vocab !== null) ids = Object.values(vocab);
  if (added !== undefined && !Array.isArray(added)) throw bad('added_tokens is not a list');
  for (const t of (added ?? []) as { id?: unknown }[]) ids.push(t?.id);
  let max = -1;
  for (const id of ids) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) throw bad(`token id ${JSON.stringify(id)?.slice(0, 40)} is not a non-negative integer`);
    max = Math.max(max, id);
  }
  if (modelVocab !== undefined && max >= modelVocab) throw bad(`token id ${max} is past the model's vocabulary of ${modelVocab}`);
}

/** `modelVocab`: the model's vocabulary size, which every token id must stay below. */
export function hfTokenizer(tokenizerJson: unknown, tokenizerConfig: Json | null, eosIds: number[] = [], modelVocab?: number): Tokenizer {
  const config = tokenizerConfig ?? {};
  checkIds(tokenizerJson, modelVocab);
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
