/**
 * The tokenizer a GGUF file carries in its metadata (`tokenizer.ggml.*`, `tokenizer.chat_template`),
 * as the tokenizer.json and tokenizer_config.json it stands for, so `@huggingface/tokenizers` runs it
 * like any other. The mapping follows transformers' GGUF conversion (integrations/ggml.py:
 * GGUFTokenizerSkeleton, GGUFLlamaConverter, GGUFGPTConverter, GGUFQwen2Converter) and llama.cpp's
 * reading of the same keys (llama-vocab.cpp: token types, pre-tokenizers, add_bos defaults, ignore_merges).
 */
import { ModelFormatError, UnsupportedModelError } from '../errors';
import type { TokenizerSource } from './types';

type Json = Record<string, unknown>;

/** llama.cpp's llama_token_type (gguf-py TokenType). */
export const TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

/**
 * The pre-tokenizers of `tokenizer.ggml.pre` we run, as the tokenizer.json pieces of the models
 * llama.cpp names them after (Llama 3, Qwen2, SmolLM, GPT-2); the regexes are llama-vocab.cpp's.
 */
export const LLAMA3_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
export const QWEN2_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const byteLevel = (useRegex: boolean, trimOffsets = true) => ({ type: 'ByteLevel', add_prefix_space: false, trim_offsets: trimOffsets, use_regex: useRegex });
const split = (regex: string) => ({ type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false });

interface PreTokenizer {
  normalizer: Json | null;
  preTokenizer: Json;
  /** llama.cpp's ignore_merges: a word that is a token is taken whole (Llama 3). */
  ignoreMerges: boolean;
  /** llama.cpp's add_bos default for this pre-tokenizer when the file does not say. */
  addBos: boolean;
}
export const PRE_TOKENIZERS: Record<string, PreTokenizer> = {
  'llama-bpe': { normalizer: null, preTokenizer: { type: 'Sequence', pretokenizers: [split(LLAMA3_SPLIT), byteLevel(false)] }, ignoreMerges: true, addBos: true },
  qwen2: { normalizer: { type: 'NFC' }, preTokenizer: { type: 'Sequence', pretokenizers: [split(QWEN2_SPLIT), byteLevel(false, false)] }, ignoreMerges: false, addBos: false },
  smollm: { normalizer: null, preTokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Digits', individual_digits: true }, byteLevel(true)] }, ignoreMerges: false, addBos: false },
  default: { normalizer: null, preTokenizer: byteLevel(true), ignoreMerges: false, addBos: false },
};
// llama.cpp's other names for the same pre-tokenizers.
PRE_TOKENIZERS['llama3'] = PRE_TOKENIZERS['llama-v3'] = PRE_TOKENIZERS['llama-bpe'];
PRE_TOKENIZERS['gpt-2'] = PRE_TOKENIZERS['gpt2'] = PRE_TOKENIZERS.default;

/** The SentencePiece-style pieces of a "llama" vocabulary, as Llama's tokenizer.json has them. */
const SPM_NORMALIZER = { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] };
const SPM_REPLACE = { type: 'Replace', pattern: { String: ' ' }, content: '▁' };
const spmDecoder = (prefix: boolean) => ({
  type: 'Sequence',
  decoders: [{ type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }, ...(prefix ? [{ type: 'Strip', content: ' ', start: 1, stop: 0 }] : [])],
});

/** Token texts llama.cpp always ends generation at (llama-vocab.cpp's end-of-generation list), whatever the eos id says. */
const EOG_TEXTS = new Set(['<|eot_id|>', '<|im_end|>', '<|end|>', '<end_of_turn>', '<|endoftext|>', '<|eom_id|>', '<EOT>', '_<EOT>', '<｜end▁of▁sentence｜>']);

/** The ids of `tokenizer.ggml.tokens` that llama.cpp adds to the stop ids by their text (none when the list is not one of strings). */
export function endOfGenerationIds(md: ReadonlyMap<string, unknown>): number[] {
  const tokens = md.get('tokenizer.ggml.tokens');
  if (!Array.isArray(tokens)) return [];
  return tokens.flatMap((t, i) => (typeof t === 'string' && EOG_TEXTS.has(t) ? [i] : []));
}

/** Splits `s` at every code point boundary: `[left, right]` pairs. */
function splits(s: string): [string, string][] {
  const out: [string, string][] = [];
  let i = 0;
  for (const ch of s) {
    i += ch.length;
    if (i < s.length) out.push([s.slice(0, i), s.slice(i)]);
  }
  return out;
}

/**
 * A "llama" vocabulary without merges (llama.cpp's converter writes tokens and scores only): the
 * merges SentencePiece's scores imply, built as transformers' GGUFTokenizerSkeleton does: every split
 * of a normal token into two tokens, by the merged token's score, then by its id (its place in the
 * vocabulary, which is the merge order when the scores do not say, as in files written with -1000).
 */
export function mergesFromScores(tokens: readonly string[], scores: ArrayLike<number>, types: ArrayLike<number> | null): [string, string][] {
  const ids = new Map<string, number>();
  tokens.forEach((t, i) => ids.has(t) || ids.set(t, i));
  const found: { pair: [string, string]; score: number; id: number; l: number; r: number }[] = [];
  tokens.forEach((t, id) => {
    if (types && types[id] !== TOKEN_TYPE.normal && types[id] !== TOKEN_TYPE.userDefined) return;
    for (const pair of splits(t)) {
      const l = ids.get(pair[0]);
      const r = ids.get(pair[1]);
      if (l !== undefined && r !== undefined) found.push({ pair, score: scores[id], id, l: scores[l], r: scores[r] });
    }
  });
  found.sort((a, b) => b.score - a.score || a.id - b.id || b.l - a.l || b.r - a.r);
  return found.map((f) => f.pair);
}

/**
 * The tokenizer in `md`, or null when the file has none (`tokenizer.ggml.model` absent or "none").
 * Unsupported models or pre-tokenizers: UnsupportedModelError; malformed values: ModelFormatError.
 */
export function ggufTokenizer(md: ReadonlyMap<string, unknown>, file = 'model.gguf'): Extract<TokenizerSource, { kind: 'hf' }> | null {
  const model = md.get('tokenizer.ggml.model');
  if (model === undefined || model === 'none') return null;
  const bad = (msg: string) => new ModelFormatError('bad-config', msg, file);
  if (typeof model !== 'string') throw bad('tokenizer.ggml.model is not a string');
  if (model !== 'llama' && model !== 'gpt2')
    throw new UnsupportedModelError(`${file}: tokenizer model "${model.slice(0, 40)}" is not supported (llama and gpt2 are); put its tokenizer.json beside the file`);

  const list = <T>(key: string, what: string, ok: (v: unknown) => v is T, required: boolean): T[] | null => {
    const v = md.get(key);
    if (v === undefined) {
      if (required) throw bad(`${key} is missing`);
      return null;
    }
    if (!Array.isArray(v) || !v.every(ok)) throw bad(`${key} is not a list of ${what}`);
    return v;
  };
  const isString = (v: unknown): v is string => typeof v === 'string';
  const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  const tokens = list('tokenizer.ggml.tokens', 'strings', isString, true)!;
  if (tokens.length === 0) throw bad('tokenizer.ggml.tokens is empty');
  const scores = list('tokenizer.ggml.scores', 'numbers', isNumber, false);
  const types = list('tokenizer.ggml.token_type', 'integers', (v): v is number => Number.isInteger(v), false);
  const mergeList = list('tokenizer.ggml.merges', 'strings', isString, model === 'gpt2');
  for (const [key, l] of [['scores', scores], ['token_type', types]] as const)
    if (l && l.length !== tokens.length) throw bad(`tokenizer.ggml.${key} has ${l.length} entries for ${tokens.length} tokens`);

  const id = (key: string): number | null => {
    const v = md.get(`tokenizer.ggml.${key}`);
    if (v === undefined) return null;
    const n = typeof v === 'bigint' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n >= tokens.length) throw bad(`tokenizer.ggml.${key} ${String(v).slice(0, 20)} is not a token id below ${tokens.length}`);
    return n;
  };
  const flag = (key: string, fallback: boolean): boolean => {
    const v = md.get(`tokenizer.ggml.${key}`);
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') throw bad(`tokenizer.ggml.${key} is not a boolean`);
    return v;
  };
  const [bos, eos, unk, pad] = ['bos_token_id', 'eos_token_id', 'unknown_token_id', 'padding_token_id'].map(id);

  let pre: PreTokenizer | null = null;
  if (model === 'gpt2') {
    const name = md.get('tokenizer.ggml.pre') ?? 'default';
    if (typeof name !== 'string') throw bad('tokenizer.ggml.pre is not a string');
    pre = PRE_TOKENIZERS[name] ?? null;
    if (!pre || !Object.hasOwn(PRE_TOKENIZERS, name))
      throw new UnsupportedModelError(`${file}: pre-tokenizer "${name.slice(0, 40)}" is not supported (${Object.keys(PRE_TOKENIZERS).join(', ')} are); put its tokenizer.json beside the file`);
  }
  const addBos = flag('add_bos_token', pre ? pre.addBos : true);
  const addEos = flag('add_eos_token', false);
  const spacePrefix = model === 'llama' && flag('add_space_prefix', true);

  const merges: [string, string][] = mergeList
    ? mergeList.map((m) => {
        // llama.cpp splits at the first space after the first character.
        const at = m.indexOf(' ', 1);
        if (at < 0) throw bad(`tokenizer.ggml.merges entry ${JSON.stringify(m.slice(0, 40))} is not two tokens`);
        return [m.slice(0, at), m.slice(at + 1)];
      })
    : mergesFromScores(tokens, scores ?? new Array<number>(tokens.length).fill(0), types);

  // The first id of a repeated token, as llama.cpp maps text to ids; fromEntries keeps "__proto__" a token.
  const seen = new Set<string>();
  const vocab = Object.fromEntries(tokens.flatMap((t, i) => (seen.has(t) ? [] : (seen.add(t), [[t, i] as const]))));
  // Control (and unknown) tokens are special; user-defined ones are matched in text but printed.
  const addedTokens = tokens.flatMap((content, i) => {
    const t = types?.[i] ?? (i === bos || i === eos || i === unk ? TOKEN_TYPE.control : TOKEN_TYPE.normal);
    if (t !== TOKEN_TYPE.control && t !== TOKEN_TYPE.userDefined && t !== TOKEN_TYPE.unknown) return [];
    return [{ id: i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: t !== TOKEN_TYPE.userDefined }];
  });
  const special = (i: number) => ({ SpecialToken: { id: tokens[i], type_id: 0 } });
  const template = [...(addBos && bos !== null ? [special(bos)] : []), { Sequence: { id: 'A', type_id: 0 } }, ...(addEos && eos !== null ? [special(eos)] : [])];
  const used = [...(addBos && bos !== null ? [bos] : []), ...(addEos && eos !== null ? [eos] : [])];
  const postProcessor = used.length
    ? { type: 'TemplateProcessing', single: template, pair: [...template, ...template.map((p) => ('Sequence' in p ? { Sequence: { id: 'B', type_id: 1 } } : p))], special_tokens: Object.fromEntries(used.map((i) => [tokens[i], { id: tokens[i], ids: [i], tokens: [tokens[i]] }])) }
    : pre ? byteLevel(false, false) : null;

  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: pre ? pre.normalizer : spacePrefix ? SPM_NORMALIZER : SPM_REPLACE,
    pre_tokenizer: pre ? pre.preTokenizer : null,
    post_processor: postProcessor,
    decoder: pre ? byteLevel(true) : spmDecoder(spacePrefix),
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: unk === null ? null : tokens[unk],
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: !pre,
      byte_fallback: !pre,
      ignore_merges: pre?.ignoreMerges ?? false,
      vocab,
      merges,
    },
  };

  const chat = md.get('tokenizer.chat_template');
  if (chat !== undefined && typeof chat !== 'string') throw bad('tokenizer.chat_template is not a string');
  const tokenizerConfig: Json = { add_bos_token: addBos, add_eos_token: addEos };
  if (chat !== undefined) tokenizerConfig.chat_template = chat;
  for (const [key, i] of [['bos_token', bos], ['eos_token', eos], ['unk_token', unk], ['pad_token', pad]] as const) if (i !== null) tokenizerConfig[key] = tokens[i];
  return { kind: 'hf', tokenizerJson, tokenizerConfig };
}
