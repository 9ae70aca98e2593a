/**
 * A tokenizer.json (and tokenizer_config.json) as GGUF `tokenizer.*` metadata, the way llama.cpp's
 * convert_hf_to_gguf writes it, so a file we write carries its tokenizer as downloaded files do:
 * SentencePiece-style BPE (byte fallback, "▁" pieces) as "llama", byte-level BPE as "gpt2" with the
 * `tokenizer.ggml.pre` its pre-tokenizer matches. src/model/gguf-tokenizer.ts reads it back.
 */
import { UnsupportedModelError } from '../errors';
import { PRE_TOKENIZERS, TOKEN_TYPE } from './gguf-tokenizer';
import { readLlama2cVocab } from './llama2c';
import type { GgufMetadataEntry } from './gguf-writer';

type Json = Record<string, unknown>;

function tokenText(config: Json, key: string): string | null {
  const v = config[key];
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as Json).content === 'string') return (v as Json).content as string;
  return null;
}

/** The `tokenizer.ggml.pre` whose pre-tokenizer (and normalizer) is exactly this tokenizer.json's. */
function preName(json: Json): string {
  const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
  // trim_offsets changes offsets only, never ids.
  const strip = (p: unknown): unknown => JSON.parse(JSON.stringify(p ?? null), (k, v) => (k === 'trim_offsets' ? undefined : v));
  for (const [name, pre] of Object.entries(PRE_TOKENIZERS))
    if (same(strip(pre.preTokenizer), strip(json.pre_tokenizer)) && same(pre.normalizer, json.normalizer) && same(pre.ignoreMerges, (json.model as Json).ignore_merges ?? false)) return name;
  throw new UnsupportedModelError(`a byte-level BPE tokenizer.json whose pre-tokenizer matches none llama.cpp names that we run (${Object.keys(PRE_TOKENIZERS).join(', ')}): ${JSON.stringify(json.pre_tokenizer).slice(0, 120)}`);
}

/**
 * `tokenizer.*` metadata for `tokenizerJson`: tokens by id (gaps filled with "[PAD<id>]" as unused, as
 * llama.cpp does), token types, merges, special ids, add_bos/add_eos, and the chat template.
 * A "llama" vocabulary also gets SentencePiece-style scores (the rank of the merge that makes a
 * token), which llama.cpp's score-driven tokenizer needs, and its merges (which transformers prefers).
 */
export function tokenizerMetadata(tokenizerJson: unknown, tokenizerConfig: Json | null): GgufMetadataEntry[] {
  const json = tokenizerJson as Json;
  const model = (json?.model ?? {}) as Json;
  if (model.type !== 'BPE') throw new UnsupportedModelError(`a ${String(model.type)} tokenizer cannot be written as GGUF metadata here (BPE can)`);
  const byteLevel = JSON.stringify(json.pre_tokenizer ?? null).includes('"ByteLevel"');
  if (!byteLevel && !model.byte_fallback) throw new UnsupportedModelError('a BPE tokenizer that is neither byte-level nor SentencePiece-style (byte fallback) has no GGUF tokenizer model');
  const kind = byteLevel ? 'gpt2' : 'llama';
  const config = tokenizerConfig ?? {};

  const tokens: string[] = [];
  for (const [t, id] of Object.entries(model.vocab as Record<string, number>)) tokens[id] = t;
  const added = (json.added_tokens ?? []) as { id: number; content: string; special?: boolean }[];
  for (const a of added) tokens[a.id] = a.content;
  const addedById = new Map(added.map((a) => [a.id, a]));
  const unk = typeof model.unk_token === 'string' ? model.unk_token : null;
  const types: number[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const a = addedById.get(i);
    if (tokens[i] === undefined) {
      tokens[i] = `[PAD${i}]`;
      types[i] = TOKEN_TYPE.unused;
    } else if (a) types[i] = tokens[i] === unk ? TOKEN_TYPE.unknown : a.special ? TOKEN_TYPE.control : TOKEN_TYPE.userDefined;
    else if (tokens[i] === unk) types[i] = TOKEN_TYPE.unknown;
    else if (kind === 'llama' && /^<0x[0-9A-F]{2}>$/.test(tokens[i])) types[i] = TOKEN_TYPE.byte;
    else types[i] = TOKEN_TYPE.normal;
  }
  const merges = ((model.merges ?? []) as (string | [string, string])[]).map((m) => (typeof m === 'string' ? m : m.join(' ')));

  const md: GgufMetadataEntry[] = [['tokenizer.ggml.model', kind]];
  if (kind === 'gpt2') md.push(['tokenizer.ggml.pre', preName(json)]);
  md.push(['tokenizer.ggml.tokens', tokens, 'string']);
  if (kind === 'llama') {
    const ids = new Map(tokens.map((t, i) => [t, i]));
    const scores = new Array<number>(tokens.length).fill(NaN);
    merges.forEach((m, rank) => {
      const id = ids.get(m.replace(' ', ''));
      if (id !== undefined && Number.isNaN(scores[id])) scores[id] = -rank;
    });
    // Tokens no merge makes rank after every merge, in id order.
    md.push(['tokenizer.ggml.scores', scores.map((s, i) => (Number.isNaN(s) ? -(merges.length + i) : s)), 'f32']);
  }
  md.push(['tokenizer.ggml.token_type', types, 'i32']);
  if (merges.length) md.push(['tokenizer.ggml.merges', merges, 'string']);

  const ids = new Map(tokens.map((t, i) => [t, i]));
  for (const [key, name] of [['bos_token_id', 'bos_token'], ['eos_token_id', 'eos_token'], ['unknown_token_id', 'unk_token'], ['padding_token_id', 'pad_token']] as const) {
    const text = tokenText(config, name) ?? (name === 'unk_token' ? unk : null);
    const id = text === null ? undefined : ids.get(text);
    if (id !== undefined) md.push([`tokenizer.ggml.${key}`, id]);
  }
  // What the post-processor puts around a text, unless tokenizer_config.json says.
  const post = JSON.stringify(json.post_processor ?? null);
  const bos = tokenText(config, 'bos_token');
  const addBos = typeof config.add_bos_token === 'boolean' ? config.add_bos_token : bos !== null && post.includes(`"SpecialToken":{"id":${JSON.stringify(bos)}`);
  const addEos = typeof config.add_eos_token === 'boolean' ? config.add_eos_token : false;
  md.push(['tokenizer.ggml.add_bos_token', addBos], ['tokenizer.ggml.add_eos_token', addEos]);
  if (kind === 'llama') md.push(['tokenizer.ggml.add_space_prefix', /"Prepend"|"prepend_scheme":"(first|always)"/.test(JSON.stringify([json.normalizer, json.pre_tokenizer]))]);
  let template = config.chat_template;
  if (Array.isArray(template)) template = template.find((t: Json) => t?.name === 'default')?.template;
  if (typeof template === 'string') md.push(['tokenizer.chat_template', template]);
  return md;
}

/**
 * A llama2.c tokenizer.bin as "llama" metadata, as llama.cpp's converters write a SentencePiece
 * vocabulary: pieces with "▁" for the spaces llama2.c's export put back, their scores (run.c merges by
 * them), <unk>/<s>/</s> at 0/1/2 and the byte tokens.
 */
export function llama2cTokenizerMetadata(bytes: Uint8Array, vocabSize: number): GgufMetadataEntry[] {
  const { pieces, scores } = readLlama2cVocab(bytes, vocabSize);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const tokens = pieces.map((p, i) => {
    try {
      return utf8.decode(p).replaceAll(' ', '▁');
    } catch {
      throw new UnsupportedModelError(`tokenizer.bin: token ${i} is not UTF-8 text, which GGUF metadata needs`);
    }
  });
  const types = tokens.map((t, i) => (i === 0 ? TOKEN_TYPE.unknown : i < 3 ? TOKEN_TYPE.control : /^<0x[0-9A-F]{2}>$/.test(t) ? TOKEN_TYPE.byte : TOKEN_TYPE.normal));
  return [
    ['tokenizer.ggml.model', 'llama'],
    ['tokenizer.ggml.tokens', tokens, 'string'],
    ['tokenizer.ggml.scores', [...scores], 'f32'],
    ['tokenizer.ggml.token_type', types, 'i32'],
    ['tokenizer.ggml.bos_token_id', 1],
    ['tokenizer.ggml.eos_token_id', 2],
    ['tokenizer.ggml.unknown_token_id', 0],
    ['tokenizer.ggml.add_bos_token', true],
    ['tokenizer.ggml.add_eos_token', false],
  ];
}
