import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { env, PreTrainedTokenizer } from '@huggingface/transformers';
import { ModelFormatError, UnsupportedModelError } from '../../src/errors';
import { createTokenizer } from '../../src/tokenizer';
import { rng } from '../cases/random';
import { golden, tinystories656k } from '../helpers/models';
import { streamDecode } from '../helpers/tokenizer';

type Json = Record<string, unknown>;

// Everything is built from local JSON objects; any attempt to fetch fails the test.
env.allowRemoteModels = false;
beforeAll(() => {
  vi.stubGlobal('fetch', () => {
    throw new Error('tokenizer tests must not use the network');
  });
});
afterAll(() => vi.unstubAllGlobals());

const tsJson = JSON.parse(readFileSync(join(tinystories656k.dir, 'tokenizer.json'), 'utf8'));
const tsConfig = JSON.parse(readFileSync(join(tinystories656k.dir, 'tokenizer_config.json'), 'utf8'));

const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
const prepend = (token: string, id: number) => ({
  type: 'TemplateProcessing',
  single: [{ SpecialToken: { id: token, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
  pair: [{ SpecialToken: { id: token, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
  special_tokens: { [token]: { id: token, ids: [id], tokens: [token] } },
});

/** BPE merges spelling out `words` left to right, with every intermediate piece in the vocabulary. */
function bpe(vocab: Map<string, number>, words: string[]): string[] {
  const merges = new Set<string>();
  for (const w of words) {
    const chars = [...w];
    let cur = chars[0];
    for (const ch of chars.slice(1)) {
      merges.add(`${cur} ${ch}`);
      cur += ch;
      if (!vocab.has(cur)) vocab.set(cur, vocab.size);
    }
  }
  return [...merges];
}

/** A Llama-2 / Mistral style tokenizer: SentencePiece BPE with byte fallback (<0x00>..<0xFF>). */
function sentencePieceStyle(): { json: Json; config: Json } {
  const vocab = new Map<string, number>([['<unk>', 0], ['<s>', 1], ['</s>', 2]]);
  for (let b = 0; b < 256; b++) vocab.set(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, 3 + b);
  for (const c of "▁abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?'\"-é") vocab.set(c, vocab.size);
  const merges = bpe(vocab, ['▁the', '▁a', '▁was', '▁Once', '▁upon', '▁time', '▁there', '▁and', 'ing', '▁Lily', '▁▁', '▁▁▁▁', '.▁']);
  return {
    json: {
      version: '1.0',
      added_tokens: [special(0, '<unk>'), special(1, '<s>'), special(2, '</s>')],
      normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] },
      pre_tokenizer: null,
      post_processor: prepend('<s>', 1),
      decoder: { type: 'Sequence', decoders: [{ type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }] },
      model: { type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: true, byte_fallback: true, ignore_merges: false, vocab: Object.fromEntries(vocab), merges },
    },
    config: { bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>', clean_up_tokenization_spaces: false },
  };
}

/** A Llama-3 style tokenizer: byte-level BPE (GPT-2 byte-to-char map), regex split, <|begin_of_text|>. */
function byteLevelStyle(): { json: Json; config: Json } {
  const bs = [...Array(256).keys()].filter((b) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174);
  const chars = new Map(bs.map((b) => [b, String.fromCharCode(b)]));
  for (let b = 0, n = 0; b < 256; b++) if (!chars.has(b)) chars.set(b, String.fromCharCode(256 + n++));
  const enc = (s: string) => [...new TextEncoder().encode(s)].map((b) => chars.get(b)!).join('');
  const vocab = new Map([...Array(256).keys()].map((b) => [chars.get(b)!, b]));
  // '🙂'.slice(0, 2 bytes) makes a token that is half a character.
  const merges = bpe(vocab, ['the', ' the', ' a', ' was', 'Once', ' upon', ' time', 'ing', '  ', '123', ' 🙂'].map(enc).concat([enc('🙂').slice(0, 2)]));
  const specials = ['<|begin_of_text|>', '<|end_of_text|>', '<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>'].map((t, i) => special(vocab.size + i, t));
  const regex = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
  return {
    json: {
      version: '1.0',
      added_tokens: specials,
      normalizer: null,
      pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false }, { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false }] },
      post_processor: { type: 'Sequence', processors: [{ type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true }, prepend('<|begin_of_text|>', specials[0].id)] },
      decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
      model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: true, vocab: Object.fromEntries(vocab), merges },
    },
    // Llama 3 ships clean_up_tokenization_spaces: true; decode() ignores it (see hf.ts).
    config: { bos_token: '<|begin_of_text|>', eos_token: '<|eot_id|>', clean_up_tokenization_spaces: true },
  };
}

function texts(n: number, seed: number): string[] {
  const r = rng(seed);
  const parts = ['Once', ' upon', ' a', ' time', 'Lily', 'the', ' ', '  ', '    ', '\n', '\n\n', '\t', ' \n ', '!', '?', '"', "'s", "'", '42', '3.14', '123456', '-7', 'é', 'ü', 'Ω', '中文', '日本語', '🙂', '👍🏽', '👨‍👩‍👧', 'naïve', '—', 'ß', '\u00a0', ',', '.', ' .', 'ing', 'ABC', '<s>', '<|end_story|>', '<0x41>'];
  return Array.from({ length: n }, () => Array.from({ length: 1 + Math.floor(r() * 14) }, () => parts[Math.floor(r() * parts.length)]).join(''));
}


const cases = [
  { name: 'TinyStories-656K tokenizer.json', json: tsJson, config: tsConfig, lossless: false },
  { name: 'synthetic SentencePiece-style (byte fallback)', ...sentencePieceStyle(), lossless: true },
  { name: 'synthetic Llama-3-style (byte-level)', ...byteLevelStyle(), lossless: true },
];

describe.each(cases)('$name', ({ json, config, lossless }) => {
  const tok = createTokenizer({ kind: 'hf', tokenizerJson: json, tokenizerConfig: config });
  const ref = new PreTrainedTokenizer(json, config);
  const all = texts(300, 7);

  it('agrees with @huggingface/transformers on encode and decode of 300 varied strings', () => {
    expect(tok.bosId).toBe(ref.bos_token_id);
    expect(tok.eosIds).toEqual([ref.eos_token_id]);
    for (const text of all) {
      const ids = tok.encode(text, { addBos: false });
      expect(ids, JSON.stringify(text)).toEqual(ref.encode(text, { add_special_tokens: false }));
      expect(tok.encode(text), JSON.stringify(text)).toEqual(ref.encode(text));
      // "<s>" in the text encodes as BOS, and a leading BOS prints nothing.
      const rest = ids[0] === tok.bosId ? ids.slice(1) : ids;
      if (rest.length) expect(tok.decode(ids)).toBe(ref.decode(rest, { clean_up_tokenization_spaces: false }));
    }
  });

  it('decodes arbitrary ids as transformers does with special tokens kept (a leading BOS aside)', () => {
    const r = rng(11);
    for (let n = 0; n < 200; n++) {
      const ids = Array.from({ length: 1 + Math.floor(r() * 20) }, () => Math.floor(r() * tok.vocabSize));
      const rest = ids[0] === tok.bosId ? ids.slice(1) : ids;
      expect(tok.decode(ids)).toBe(rest.length ? ref.decode(rest, { clean_up_tokenization_spaces: false }) : '');
    }
  });

  it('round-trips text it can represent (without special-token strings, which re-split the text)', () => {
    const plain = all.filter((t) => !/<s>|<\|/.test(t));
    for (const text of ['Once upon a time, there was a cat.', 'Tom said, "Hello!"\nThe end.', '  two  spaces ', ...(lossless ? plain : [])]) {
      expect(tok.decode(tok.encode(text)), JSON.stringify(text)).toBe(text);
    }
  });

  it('decodes a continuation after `prev` with its leading space', () => {
    for (const text of ['Once upon a time there was a dog.', 'a\n The end 🙂 ok', all[5]]) {
      const ids = tok.encode(text);
      for (let k = 1; k < ids.length; k++) {
        const head = tok.decode(ids.slice(0, k));
        if (head.endsWith('\uFFFD')) continue; // split inside a character
        expect(head + tok.decode(ids.slice(k), ids[k - 1]), `${JSON.stringify(text)} at ${k}`).toBe(tok.decode(ids));
      }
    }
  });

  it('streams pieces that concatenate to decode()', () => {
    for (const text of all.slice(0, 150)) {
      const ids = tok.encode(text);
      expect(streamDecode(tok, ids)).toBe(tok.decode(ids));
      expect(streamDecode(tok, ids.slice(2), ids[1])).toBe(tok.decode(ids.slice(2), ids[1]));
    }
    const r = rng(5);
    for (let n = 0; n < 200; n++) {
      const ids = Array.from({ length: 1 + Math.floor(r() * 20) }, () => Math.floor(r() * tok.vocabSize));
      const d = tok.createDecoder();
      expect(ids.map((id) => d.push(id)).join('') + d.flush()).toBe(tok.decode(ids));
    }
  });
});

describe('TinyStories-656K', () => {
  const tok = createTokenizer({ kind: 'hf', tokenizerJson: tsJson, tokenizerConfig: tsConfig }, [2]);
  const g = golden['tinystories-656k'];

  it('decodes the golden ids to the golden text: leading BOS prints nothing, <|end_story|> is kept', () => {
    expect(g.text).toContain('<|end_story|>');
    expect(tok.decode(g.greedy_ids)).toBe(g.text);
    expect(tok.decode(g.greedy_ids.slice(1), 1)).toBe(g.text);
    expect(streamDecode(tok, g.greedy_ids)).toBe(g.text);
    expect(streamDecode(tok, g.greedy_ids.slice(1), 1)).toBe(g.text);
  });

  it('knows its vocabulary and special tokens', () => {
    expect([tok.vocabSize, tok.bosId, tok.eosIds]).toEqual([2048, 1, [2]]);
  });

  it('encodes "Once upon a time" with the normalizer\'s leading "▁" (80), which the model\'s own stories lack', () => {
    expect(tok.encode('Once upon a time')).toEqual([1, 80, 147, 201, 282, 57]);
    expect(g.greedy_ids.slice(0, 4)).toEqual([1, 147, 201, 282]);
    expect(tok.decode([147, 201, 282])).toBe('Once upon a tim');
  });

  it('maps characters outside its ASCII vocabulary to <unk> (it has no <0xXX> tokens despite byte_fallback)', () => {
    expect(tok.decode(tok.encode('naïve 🙂', { addBos: false }))).toBe('na<unk>ve <unk>');
  });
});

describe('tokenizer sources', () => {
  it('refuses a model without a tokenizer, with a typed error that asks for tokenizer.json', () => {
    expect(() => createTokenizer({ kind: 'none' })).toThrow(UnsupportedModelError);
    expect(() => createTokenizer({ kind: 'none' })).toThrow(/tokenizer\.json/);
  });

  it('finds BOS through the post-processor when there is no tokenizer_config.json', () => {
    const { json } = sentencePieceStyle();
    const tok = createTokenizer({ kind: 'hf', tokenizerJson: json, tokenizerConfig: null });
    expect(tok.bosId).toBe(1);
    expect(tok.eosIds).toEqual([]);
    expect(tok.decode(tok.encode('the time .'))).toBe('the time .');
  });

  it('rejects a tokenizer.json it cannot build', () => {
    expect(() => createTokenizer({ kind: 'hf', tokenizerJson: { model: { type: 'Nonsense' } }, tokenizerConfig: null })).toThrow(ModelFormatError);
  });
});
