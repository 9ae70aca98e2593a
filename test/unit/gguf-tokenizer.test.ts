/**
 * A GGUF file carries its tokenizer and chat template in its metadata: a lone .gguf tokenizes as its
 * tokenizer.json does (and as @huggingface/transformers does), renders its template, and generates
 * from text. Files we write (gguf-quantize) carry the source model's tokenizer the same way.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { env, PreTrainedTokenizer } from '@huggingface/transformers';
import { loadModel } from '../../src/model/load';
import { parseGgufHeader, type GgufValue } from '../../src/model/gguf';
import { ggufTokenizer } from '../../src/model/gguf-tokenizer';
import { tokenizerMetadata } from '../../src/model/gguf-tokenizer-metadata';
import { writeGguf, type GgufMetadataEntry } from '../../src/model/gguf-writer';
import { quantizedGguf } from '../../src/model/gguf-quantize';
import { createTokenizer, type Tokenizer } from '../../src/tokenizer';
import { createEngine } from '../../src/engine/engine';
import { ModelFormatError, UnsupportedModelError } from '../../src/errors';
import { golden, stories260K, tinystories656k } from '../helpers/models';
import { streamDecode } from '../helpers/tokenizer';
import { cli } from '../helpers/cli';
import { HF_REAL, hfRealDir, hfRealJson, syntheticHfFolder } from '../fixtures/hf-real';
import { memoryFolder } from '../fixtures/model-builders';

env.allowRemoteModels = false;
type Json = Record<string, unknown>;
const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Json;

/** Stories, unicode (composed and not), whitespace runs, characters only byte fallback can spell, digits, code. */
const CORPUS = [
  // Up to their first story marker (special-token text is tested apart, where it is matched alike).
  golden['tinystories-656k'].text.split('<|')[0],
  golden.stories260K.text.split('<s>')[0],
  'Once upon a time, there was a little girl named Lily.\nShe loved to play outside in the sun.',
  '  leading  and   trailing   ',
  '\t\ttabs\tand\nnewlines\n\n\nhere\r\n',
  '     ',
  'café naïve Ünïcödé cafe\u0301 ﬁ ｆｕｌｌ',
  '日本語のテキスト 中文 한국어 Ελληνικά русский',
  'emoji 🦙🚀👩‍👩‍👧 and ✨',
  '\u0000\u0001\u007f control \u200b zero-width',
  "Numbers 1234567 and 3.14159, symbols #$%&*! it's I'll we'd THEY'RE",
  'def f(x):\n    return x ** 2  # square\n',
  'x',
  '',
];
/** Special-token text in the input: only where the tokenizer.json matches specials on raw text, as GGUF tokenizers do. */
const SPECIAL_TEXT = (t: string[]) => t.map((s) => `${s} between${s}and ${s}\n`);

function expectSameTokenizer(ours: Tokenizer, want: Tokenizer, corpus: string[]) {
  expect(ours.bosId).toBe(want.bosId);
  expect(ours.vocabSize).toBe(want.vocabSize);
  for (const text of corpus) {
    const ids = want.encode(text);
    expect(ours.encode(text), JSON.stringify(text)).toEqual(ids);
    expect(ours.encode(text, { addBos: false }), JSON.stringify(text)).toEqual(want.encode(text, { addBos: false }));
    expect(ours.decode(ids)).toBe(want.decode(ids));
    expect(streamDecode(ours, ids)).toBe(want.decode(ids));
  }
}

function expectLikeTransformers(ours: Tokenizer, json: unknown, config: Json, corpus: string[]) {
  const ref = new PreTrainedTokenizer(json as object, config);
  for (const text of corpus) {
    expect(ours.encode(text), JSON.stringify(text)).toEqual(ref.encode(text));
    expect(ours.encode(text, { addBos: false })).toEqual(ref.encode(text, { add_special_tokens: false }));
  }
  return ref;
}

/** The tokenizer a GGUF written with `metadata` (and no tensors) carries. */
function fromMetadata(metadata: GgufMetadataEntry[], eosIds: number[] = []): Tokenizer {
  const source = ggufTokenizer(parseGgufHeader(writeGguf(metadata, [])).metadata);
  expect(source).not.toBeNull();
  return createTokenizer(source!, eosIds);
}

const scratch = mkdtempSync(join(tmpdir(), 'd2o-gguf-tok-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('TinyStories-656K Q8_0 GGUF alone (llama.cpp wrote its tokenizer: tokens, scores all -1000, types; no merges)', () => {
  const file = join(scratch, 'tinystories-656k-q8_0.gguf');
  copyFileSync(tinystories656k.gguf, file);
  const json = readJson(join(tinystories656k.dir, 'tokenizer.json'));
  const config = readJson(join(tinystories656k.dir, 'tokenizer_config.json'));
  const want = createTokenizer({ kind: 'hf', tokenizerJson: json, tokenizerConfig: config }, [2]);

  it('tokenizes and decodes as its tokenizer.json, and as transformers', async () => {
    const m = await loadModel(file);
    expect(m.tokenizer.kind).toBe('hf');
    const ours = createTokenizer(m.tokenizer, m.config.eosTokenIds, m.config.vocabSize);
    expect(ours.eosIds).toEqual([2]);
    // Its tokenizer.json marks the story markers "normalized" (matched after "▁" replaced spaces);
    // GGUF has no such flag and matches them on raw text, as llama.cpp does: no marker text here.
    expectSameTokenizer(ours, want, CORPUS);
    expectLikeTransformers(ours, json, config, CORPUS);
  });

  it('generates the golden greedy story from text through the engine', async () => {
    const g = golden['tinystories-656k'];
    const engine = await createEngine({ model: file, backend: 'cpu' });
    // The golden story starts from BOS alone: the empty text, which the file's add_bos_token frames.
    expect(engine.tokenizer!.encode('')).toEqual(g.prompt_ids);
    // The Q8_0 file keeps the f32 model's greedy ids for 50 steps (cpu-golden.test.ts).
    const steps = 48;
    const r = await engine.generate('', { maxTokens: steps, temperature: 0, stopAtEos: false }).result;
    expect(r.ids).toEqual(g.greedy_ids.slice(1, 1 + steps));
    expect(r.text).toBe(want.decode(g.greedy_ids.slice(0, 1 + steps)));
    expect(g.text.startsWith(r.text)).toBe(true);
    engine.dispose();
  });

  it('the CLI generates the same from a text prompt', () => {
    const g = golden['tinystories-656k'];
    const r = cli('generate', '--model', file, '--backend', 'cpu', '--prompt', '', '--max-tokens', '48', '--greedy', '--json');
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.ids).toEqual(g.greedy_ids.slice(0, 49));
    expect(out.text).toBe(want.decode(g.greedy_ids.slice(0, 49)));
  });

  it('a tokenizer.json beside the file wins over the metadata', async () => {
    const m = await loadModel(tinystories656k.gguf);
    expect(m.tokenizer).toEqual({ kind: 'hf', tokenizerJson: json, tokenizerConfig: config });
  });
});

describe("TinyLlama's tokenizer.json as \"llama\" GGUF metadata", () => {
  const dir = join(hfRealDir, HF_REAL.tinyllama);
  const json = readJson(join(dir, 'tokenizer.json'));
  const config = readJson(join(dir, 'tokenizer_config.json'));
  const want = createTokenizer({ kind: 'hf', tokenizerJson: json, tokenizerConfig: config });
  const metadata = tokenizerMetadata(json, config);
  const corpus = [...CORPUS, ...SPECIAL_TEXT(['<s>', '</s>', '<unk>', '<|user|>'])];
  const messages = [
    { role: 'system' as const, content: 'You are a friendly chatbot.' },
    { role: 'user' as const, content: 'How many helicopters can a human eat in one sitting?' },
  ];

  it('writes what llama.cpp writes: tokens, SentencePiece scores, types, ids, flags, template', () => {
    const md = new Map(metadata.map(([k, v]) => [k, v]));
    expect(md.get('tokenizer.ggml.model')).toBe('llama');
    expect((md.get('tokenizer.ggml.tokens') as string[]).length).toBe(32000);
    expect((md.get('tokenizer.ggml.token_type') as number[]).slice(0, 4)).toEqual([2, 3, 3, 6]);
    expect([md.get('tokenizer.ggml.bos_token_id'), md.get('tokenizer.ggml.eos_token_id'), md.get('tokenizer.ggml.unknown_token_id')]).toEqual([1, 2, 0]);
    expect([md.get('tokenizer.ggml.add_bos_token'), md.get('tokenizer.ggml.add_eos_token'), md.get('tokenizer.ggml.add_space_prefix')]).toEqual([true, false, true]);
    expect(md.get('tokenizer.chat_template')).toBe(config.chat_template);
  });

  it('tokenizes as its tokenizer.json and transformers, and renders the template as transformers', () => {
    const ours = fromMetadata(metadata);
    expectSameTokenizer(ours, want, corpus);
    const ref = expectLikeTransformers(ours, json, config, corpus);
    expect(ours.hasChatTemplate).toBe(true);
    for (const addGenerationPrompt of [true, false])
      expect(ours.applyChatTemplate(messages, { addGenerationPrompt })).toBe(ref.apply_chat_template(messages, { tokenize: false, add_generation_prompt: addGenerationPrompt }));
  });

  it('without merges, from the SentencePiece scores alone (as llama.cpp reads a "llama" vocabulary)', () => {
    expectSameTokenizer(fromMetadata(metadata.filter(([k]) => k !== 'tokenizer.ggml.merges')), want, corpus);
  });

  it('a lone quantized TinyLlama-config GGUF answers chat.completions from the ids transformers gives, and stops at its eos', async () => {
    const cfg = { ...hfRealJson(HF_REAL.tinyllama, 'config.json')!, num_hidden_layers: 1, hidden_size: 64, intermediate_size: 128, num_attention_heads: 4, num_key_value_heads: 2 };
    const folder = syntheticHfFolder(cfg, null);
    const files = Object.fromEntries(await Promise.all((await folder.list()).map(async (f) => [f, await folder.read(f)] as const)));
    const model = await loadModel({ source: memoryFolder({ ...files, 'tokenizer.json': json, 'tokenizer_config.json': config }) });
    const { bytes } = quantizedGguf(model, 'Q8_0');
    const engine = await createEngine({ model: { source: memoryFolder({ 'tinyllama-q8_0.gguf': bytes }) }, backend: 'cpu' });
    const ref = new PreTrainedTokenizer(json, config);
    const ids = ref.apply_chat_template(messages, { tokenize: true, add_generation_prompt: true, return_tensor: false, return_dict: false }) as number[];
    expect(engine.tokenizer!.encode(engine.tokenizer!.applyChatTemplate(messages), { addBos: false })).toEqual(ids);
    expect(engine.tokenizer!.eosIds).toEqual([2]);
    const r = await engine.chat.completions.create({ messages, max_tokens: 3, temperature: 0 });
    expect(r.usage!.prompt_tokens).toBe(ids.length);
    engine.dispose();
  });
});

/**
 * Qwen2.5 ships vocab.json + merges.txt (its folder has no tokenizer.json): its tokenizer.json as
 * transformers' Qwen2Converter builds it from them (NFC, Qwen2's split regex, byte-level BPE), with
 * the added tokens of tokenizer_config.json.
 */
function qwen2TokenizerJson(): { json: Json; config: Json } {
  const dir = join(hfRealDir, HF_REAL.qwen25);
  const config = readJson(join(dir, 'tokenizer_config.json'));
  const merges = readFileSync(join(dir, 'merges.txt'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#version'));
  const added = Object.entries(config.added_tokens_decoder as Record<string, Json>).map(([id, t]) => ({ id: Number(id), ...t }));
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false };
  const json = {
    version: '1.0', truncation: null, padding: null, added_tokens: added,
    normalizer: { type: 'NFC' },
    pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+" }, behavior: 'Isolated', invert: false }, byteLevel] },
    post_processor: byteLevel,
    decoder: byteLevel,
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab: readJson(join(dir, 'vocab.json')), merges },
  };
  return { json, config };
}

describe('Qwen2.5 as "gpt2" GGUF metadata (byte-level BPE, pre-tokenizer qwen2)', () => {
  const { json, config } = qwen2TokenizerJson();
  const metadata = tokenizerMetadata(json, config);
  const corpus = [...CORPUS, ...SPECIAL_TEXT(['<|im_start|>', '<|im_end|>', '<|endoftext|>', '<tool_call>'])];

  it('writes the tokens, merges, types and ids llama.cpp writes', () => {
    const md = new Map(metadata.map(([k, v]) => [k, v]));
    expect([md.get('tokenizer.ggml.model'), md.get('tokenizer.ggml.pre')]).toEqual(['gpt2', 'qwen2']);
    expect((md.get('tokenizer.ggml.tokens') as string[]).length).toBe(151665);
    const types = md.get('tokenizer.ggml.token_type') as number[];
    expect([types[151643], types[151644], types[151657], types[0]]).toEqual([3, 3, 4, 1]); // <|endoftext|>, <|im_start|>, <tool_call>, "!"
    expect([md.get('tokenizer.ggml.eos_token_id'), md.get('tokenizer.ggml.padding_token_id'), md.get('tokenizer.ggml.add_bos_token')]).toEqual([151645, 151643, false]);
    expect(md.has('tokenizer.ggml.scores')).toBe(false);
  });

  it('tokenizes as that tokenizer.json and transformers, and renders the template as transformers', () => {
    const ours = fromMetadata(metadata);
    const want = createTokenizer({ kind: 'hf', tokenizerJson: json, tokenizerConfig: config });
    expectSameTokenizer(ours, want, corpus);
    const ref = expectLikeTransformers(ours, json, config, corpus);
    const messages = [{ role: 'user' as const, content: 'Name a colour.' }, { role: 'assistant' as const, content: 'Blue.' }, { role: 'user' as const, content: 'Another?' }];
    for (const addGenerationPrompt of [true, false])
      expect(ours.applyChatTemplate(messages, { addGenerationPrompt })).toBe(ref.apply_chat_template(messages, { tokenize: false, add_generation_prompt: addGenerationPrompt }));
  });
});

/**
 * Each tokenizer.ggml.pre splits text as llama.cpp's regex for it does, on a byte-level vocabulary made
 * to tell them apart: digits one at a time (smollm, qwen2), in threes (llama-bpe) or in a run
 * (default, GPT-2); contractions case-insensitive (llama-bpe, qwen2) or not; whole-word tokens taken
 * without merges (llama-bpe's ignore_merges).
 */
describe('the pre-tokenizers of tokenizer.ggml.pre', () => {
  // GPT-2's bytes_to_unicode: printable bytes stand for themselves, the rest from U+0100 on.
  const printable = [...Array.from({ length: 94 }, (_, i) => 33 + i), ...Array.from({ length: 12 }, (_, i) => 161 + i), ...Array.from({ length: 82 }, (_, i) => 174 + i)];
  const byteChars: string[] = [];
  let extra = 0;
  for (let b = 0; b < 256; b++) byteChars[b] = String.fromCodePoint(printable.includes(b) ? b : 256 + extra++);
  const words = ['12', '34', '123', '45', 'ab', 'abc', "'S"];
  const tokens = [...byteChars, ...words, '<|endoftext|>'];
  const metadata = (pre: string): GgufMetadataEntry[] => [
    ['tokenizer.ggml.model', 'gpt2'],
    ['tokenizer.ggml.pre', pre],
    ['tokenizer.ggml.tokens', tokens, 'string'],
    ['tokenizer.ggml.token_type', tokens.map((_, i) => (i === tokens.length - 1 ? 3 : 1)), 'i32'],
    ['tokenizer.ggml.merges', ['3 4', '1 2', '12 3', '4 5', 'a b', "' S"], 'string'],
    ['tokenizer.ggml.eos_token_id', tokens.length - 1],
  ];
  const pieces = (pre: string, text: string) => fromMetadata(metadata(pre)).encode(text, { addBos: false }).map((i) => tokens[i]);
  it.each([
    ['smollm', ['1', '2', '3', '4'], ['ab', 'c'], ['H', 'E', "'", 'S']],
    ['qwen2', ['1', '2', '3', '4'], ['ab', 'c'], ['H', 'E', "'S"]],
    ['llama-bpe', ['123', '4'], ['abc'], ['H', 'E', "'S"]],
    ['default', ['12', '34'], ['ab', 'c'], ['H', 'E', "'", 'S']],
    ['gpt2', ['12', '34'], ['ab', 'c'], ['H', 'E', "'", 'S']],
  ])('%s', (pre, digits, word, contraction) => {
    expect(pieces(pre, '1234')).toEqual(digits);
    expect(pieces(pre, 'abc')).toEqual(word);
    expect(pieces(pre, "HE'S")).toEqual(contraction);
    expect(fromMetadata(metadata(pre)).decode(fromMetadata(metadata(pre)).encode(" HE'S 1234 abc\n"))).toBe(" HE'S 1234 abc\n");
  });
});

describe('stop ids', () => {
  it("eos, eot and eom ids, and the tokens llama.cpp's end-of-generation list names by text", async () => {
    const src = await loadModel(tinystories656k.dir);
    const json = src.tokenizer as { tokenizerJson: unknown; tokenizerConfig: Json };
    const md = new Map(tokenizerMetadata(json.tokenizerJson, json.tokenizerConfig).map(([k, v]) => [k, v]));
    const tokens = [...(md.get('tokenizer.ggml.tokens') as string[])];
    [tokens[5], tokens[6], tokens[7]] = ['<|im_end|>', '<|eot_id|>', '<|im_start|>'];
    const metadata: GgufMetadataEntry[] = [['tokenizer.ggml.tokens', tokens, 'string'], ['tokenizer.ggml.eot_token_id', 9], ['tokenizer.ggml.eom_token_id', 2]];
    const m = await loadModel({ source: memoryFolder({ 'q.gguf': quantizedGguf(src, 'Q8_0', { metadata }).bytes }) });
    expect(m.config.eosTokenIds).toEqual([2, 9, 5, 6]);
    expect(createTokenizer(m.tokenizer, m.config.eosTokenIds, m.config.vocabSize).eosIds).toEqual([2, 9, 5, 6]);
  });
});

describe('the quantizer carries the tokenizer into the file', () => {
  it('stories260K (llama2.c, tok512.bin) as Q8_0: a lone file tokenizes as run.c does', async () => {
    const src = await loadModel(stories260K.bin);
    const m = await loadModel({ source: memoryFolder({ 'q.gguf': quantizedGguf(src, 'Q8_0').bytes }) });
    const ours = createTokenizer(m.tokenizer, m.config.eosTokenIds, m.config.vocabSize);
    const want = createTokenizer(src.tokenizer, src.config.eosTokenIds, src.config.vocabSize);
    expectSameTokenizer(ours, want, CORPUS);
  });

  it('TinyStories-656K as Q4_K_M: a lone file tokenizes as the source tokenizer.json, and transformers', async () => {
    const src = await loadModel(tinystories656k.dir);
    const { bytes } = quantizedGguf(src, 'Q4_K_M');
    const m = await loadModel({ source: memoryFolder({ 'q.gguf': bytes }) });
    const ours = createTokenizer(m.tokenizer, m.config.eosTokenIds, m.config.vocabSize);
    const want = createTokenizer(src.tokenizer, src.config.eosTokenIds);
    expectSameTokenizer(ours, want, CORPUS);
    expectLikeTransformers(ours, (src.tokenizer as { tokenizerJson: unknown }).tokenizerJson, readJson(join(tinystories656k.dir, 'tokenizer_config.json')), CORPUS);
    expect(ours.eosIds).toEqual([2]);
  });
});

describe('tokenizer metadata that cannot be used says why', () => {
  const tokens = ['<unk>', '<s>', '</s>', 'a', 'b', 'ab'];
  const base: GgufMetadataEntry[] = [['tokenizer.ggml.model', 'llama'], ['tokenizer.ggml.tokens', tokens, 'string']];
  const read = (md: GgufMetadataEntry[]) => () => ggufTokenizer(parseGgufHeader(writeGguf(md, [])).metadata, 'm.gguf');
  const set = (key: string, v: GgufValue, type?: GgufMetadataEntry[2]): GgufMetadataEntry[] => [...base.filter(([k]) => k !== key), [key, v, type]];

  it('no tokenizer.ggml.model, or "none": no tokenizer (the runtime then asks for a tokenizer.json)', async () => {
    expect(read([])()).toBeNull();
    expect(read(set('tokenizer.ggml.model', 'none'))()).toBeNull();
    const bare = quantizedGguf({ ...(await loadModel(tinystories656k.dir)), tokenizer: { kind: 'none' } }, 'Q8_0').bytes;
    const engine = await createEngine({ model: { source: memoryFolder({ 'bare.gguf': bare }) }, backend: 'cpu' });
    expect(engine.tokenizer).toBeNull();
    await expect(engine.generate('Once').result).rejects.toThrow(/no tokenizer \(none beside it, none in its GGUF metadata\): put its tokenizer\.json beside it/);
    engine.dispose();
  });

  it('odd token texts stay tokens ("__proto__", "constructor"); a repeated token keeps its first id', () => {
    const odd = ['<unk>', '<s>', '</s>', '▁', '__proto__', 'constructor', '▁'];
    const source = read([['tokenizer.ggml.model', 'llama'], ['tokenizer.ggml.tokens', odd, 'string']])();
    const vocab = (source!.tokenizerJson as { model: { vocab: Record<string, number> } }).model.vocab;
    expect(Object.entries(vocab)).toEqual([['<unk>', 0], ['<s>', 1], ['</s>', 2], ['▁', 3], ['__proto__', 4], ['constructor', 5]]);
  });

  it.each([
    ['bert', set('tokenizer.ggml.model', 'bert'), /tokenizer model "bert"/],
    ['t5', set('tokenizer.ggml.model', 't5'), /tokenizer model "t5"/],
    ['pre falcon', [...set('tokenizer.ggml.model', 'gpt2'), ['tokenizer.ggml.merges', ['a b']], ['tokenizer.ggml.pre', 'falcon']] as GgufMetadataEntry[], /pre-tokenizer "falcon"/],
  ])('unsupported %s: UnsupportedModelError naming it', (_, md, msg) => {
    expect(read(md)).toThrow(UnsupportedModelError);
    expect(read(md)).toThrow(msg);
  });

  it.each([
    ['model not a string', set('tokenizer.ggml.model', 3), /tokenizer.ggml.model/],
    ['no tokens', base.slice(0, 1), /tokens is missing/],
    ['empty tokens', set('tokenizer.ggml.tokens', [], 'string'), /tokens is empty/],
    ['tokens not strings', set('tokenizer.ggml.tokens', [1, 2, 3]), /tokens is not a list of strings/],
    ['scores too short', set('tokenizer.ggml.scores', [0, 0], 'f32'), /scores has 2 entries for 6 tokens/],
    ['token types not integers', set('tokenizer.ggml.token_type', tokens.map(() => 1.5), 'f32'), /token_type is not a list of integers/],
    ['bos past the vocabulary', set('tokenizer.ggml.bos_token_id', 6), /bos_token_id 6 is not a token id below 6/],
    ['eos negative', set('tokenizer.ggml.eos_token_id', -1), /eos_token_id -1/],
    ['add_bos not a boolean', set('tokenizer.ggml.add_bos_token', 1), /add_bos_token is not a boolean/],
    ['gpt2 without merges', set('tokenizer.ggml.model', 'gpt2'), /merges is missing/],
    ['a merge without a space', [...set('tokenizer.ggml.model', 'gpt2'), ['tokenizer.ggml.merges', ['ab']]] as GgufMetadataEntry[], /merges entry "ab"/],
    ['template not a string', set('tokenizer.chat_template', 7), /chat_template is not a string/],
  ])('%s: ModelFormatError', (_, md, msg) => {
    expect(read(md)).toThrow(ModelFormatError);
    expect(read(md)).toThrow(msg);
  });

  it('ids the tokenizer gives past the model\'s embeddings: ModelFormatError at load', async () => {
    const src = await loadModel(tinystories656k.dir);
    const json = src.tokenizer as { tokenizerJson: Json; tokenizerConfig: Json };
    const vocab = { ...(json.tokenizerJson.model as Json).vocab as Json, extra: 2048 };
    const big = { ...json.tokenizerJson, model: { ...(json.tokenizerJson.model as Json), vocab } };
    const { bytes } = quantizedGguf({ ...src, tokenizer: { kind: 'hf', tokenizerJson: big, tokenizerConfig: json.tokenizerConfig } }, 'Q8_0');
    await expect(createEngine({ model: { source: memoryFolder({ 'big.gguf': bytes }) }, backend: 'cpu' })).rejects.toThrow(ModelFormatError);
  });
});
