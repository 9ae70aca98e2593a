/**
 * Corrupt and careless model files, one case per way a hostile or careless user broke them: each
 * ends in a typed error (with its `problem`) before any forward pass, or loads correctly.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelFormatError } from '../../src/errors';
import { parseGguf } from '../../src/model/gguf';
import { writeGguf, type GgufMetadataEntry } from '../../src/model/gguf-writer';
import { loadHf } from '../../src/model/hf';
import { parseLlama2c } from '../../src/model/llama2c';
import { loadModel } from '../../src/model/load';
import { parseSafetensors } from '../../src/model/safetensors';
import { checkFinite } from '../../src/model/check-finite';
import type { TokenizerSource } from '../../src/model/types';
import { createTokenizer } from '../../src/tokenizer';
import { mergeByScore } from '../../src/tokenizer/llama2c';
import { rng } from '../cases/random';
import { expectFormatError, expectFormatErrorAsync, f32Bytes, findBytes, llamaMetadata, memoryFolder, safetensorsOf, syntheticGguf, tiny } from '../fixtures/model-builders';
import { stories260K, tinystories656k } from '../helpers/models';
import { scratchDir } from '../helpers/scratch';

const none: TokenizerSource = { kind: 'none' };
const read = (path: string) => new Uint8Array(readFileSync(path));
const hfDir = tinystories656k.dir;
const hfFiles = () => ({
  'config.json': JSON.parse(readFileSync(join(hfDir, 'config.json'), 'utf8')),
  'model.safetensors': read(join(hfDir, 'model.safetensors')),
});

describe('config numbers', () => {
  const withConfig = (patch: Record<string, unknown>) => {
    const f = hfFiles();
    return loadHf(memoryFolder({ ...f, 'config.json': { ...f['config.json'], ...patch } }));
  };
  it.each([
    [{ rope_theta: 0 }], [{ rope_theta: -1 }], [{ rope_theta: 'abc' }], [{ rope_theta: 0.5 }],
    [{ rms_norm_eps: 'abc' }], [{ rms_norm_eps: -1 }], [{ rms_norm_eps: 0 }],
    [{ num_hidden_layers: 0 }], [{ num_hidden_layers: -1 }], [{ num_hidden_layers: 1.5 }], [{ num_hidden_layers: 2 ** 53 }],
    [{ max_position_embeddings: 0 }], [{ hidden_size: 2 ** 40 }],
    [{ eos_token_id: 5000 }], [{ eos_token_id: [2, -1] }], [{ bos_token_id: 2.5 }], [{ eos_token_id: 'x' }],
    [{ rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 4, high_freq_factor: 4, original_max_position_embeddings: 8192 } }],
  ])('config.json %j is bad-config', async (patch) => expectFormatErrorAsync(withConfig(patch), 'bad-config'));

  it.each([[1e7], [1], [3]])('num_hidden_layers %d disagrees with the 2 layers of the file: size-mismatch, at once', async (n) => {
    const e = await withConfig({ num_hidden_layers: n }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ModelFormatError);
    expect((e as ModelFormatError).problem).toBe('size-mismatch');
    expect((e as Error).message).toMatch(/2\b/);
  });
});

describe('GGUF metadata and layout', () => {
  const meta = (key: string, value: GgufMetadataEntry[1], type?: GgufMetadataEntry[2]) =>
    llamaMetadata(tiny).map((e): GgufMetadataEntry => (e[0] === key ? [key, value, type] : e));
  const gguf = (metadata: GgufMetadataEntry[], dtype: 'f32' | 'q8_0' = 'f32') => syntheticGguf(tiny, dtype, { metadata }).bytes;

  it.each([
    ['llama.block_count', 2n ** 40n, 'u64'],
    ['llama.block_count', 1.5, 'f32'],
    ['llama.block_count', 0, 'u32'],
    ['llama.block_count', -1, 'i32'],
    ['llama.rope.freq_base', NaN, 'f32'],
    ['llama.rope.freq_base', 0, 'f32'],
    ['llama.attention.layer_norm_rms_epsilon', NaN, 'f32'],
    ['llama.attention.layer_norm_rms_epsilon', -1, 'f32'],
    ['llama.attention.head_count', 0, 'u32'],
    ['llama.context_length', 2 ** 40, 'u64'],
    ['tokenizer.ggml.eos_token_id', 40, 'u32'],
  ] as const)('%s = %s is bad-config', (key, value, type) => expectFormatError(() => parseGguf(gguf(meta(key, value, type)), none), 'bad-config'));

  it('a block_count below the file\'s layers would drop one: size-mismatch', () =>
    expectFormatError(() => parseGguf(gguf(meta('llama.block_count', 1)), none), 'size-mismatch'));

  it.each([
    [[1], 'u32'],
    [48, 'u32'],
    ['32', undefined],
  ] as const)('general.alignment %j is bad-header', (value, type) =>
    expectFormatError(() => parseGguf(gguf([...llamaMetadata(tiny), ['general.alignment', value as GgufMetadataEntry[1], type]]), none), 'bad-header'));


  it('a tensor whose type changed from Q8_0 to Q4_0 leaves a gap: size-mismatch', () => {
    const bytes = gguf(llamaMetadata(tiny), 'q8_0');
    new DataView(bytes.buffer).setUint32(findBytes(bytes, 'blk.0.attn_q.weight') + 'blk.0.attn_q.weight'.length + 4 + 16, 2, true);
    expectFormatError(() => parseGguf(bytes, none), 'size-mismatch');
  });
  it('the last tensor shrunk (Q8_0 to Q4_0) leaves bytes after it: size-mismatch', () => {
    const bytes = gguf(llamaMetadata(tiny), 'q8_0');
    new DataView(bytes.buffer).setUint32(findBytes(bytes, 'blk.1.ffn_down.weight') + 'blk.1.ffn_down.weight'.length + 4 + 16, 2, true);
    expectFormatError(() => parseGguf(bytes, none), 'size-mismatch');
  });
  it('a tensor offset that is not aligned is bad-header; one past its place is a gap', () => {
    const bytes = gguf(llamaMetadata(tiny));
    const at = findBytes(bytes, 'output_norm.weight') + 'output_norm.weight'.length + 4 + 8 + 4;
    const dv = new DataView(bytes.buffer);
    const offset = dv.getBigUint64(at, true);
    dv.setBigUint64(at, offset + 4n, true);
    expectFormatError(() => parseGguf(bytes, none), 'bad-header');
    dv.setBigUint64(at, offset + 32n, true);
    expectFormatError(() => parseGguf(bytes, none), 'size-mismatch');
  });
  it('a tensor named twice is bad-header', () => {
    const { tensors } = syntheticGguf(tiny, 'f32');
    expectFormatError(() => parseGguf(writeGguf(llamaMetadata(tiny), [...tensors, tensors[1]]), none), 'bad-header');
  });
  it('a metadata key given twice is bad-header', () =>
    expectFormatError(() => parseGguf(gguf([...llamaMetadata(tiny), ['llama.block_count', 2]]), none), 'bad-header'));
});

describe('safetensors layout', () => {
  const x = new Float32Array(16).fill(0.5);
  it('tensors must tile the data section: F16 entries over F32 bytes leave half of it unused', () => {
    const ok = safetensorsOf({ a: { dtype: 'F32', shape: [16], data: f32Bytes(x) } });
    // Relabel the entry as F16 over the first half of its bytes (same length JSON: "F32" -> "F16", 64 -> 32).
    const text = new TextDecoder().decode(ok.subarray(8, 8 + Number(new DataView(ok.buffer).getBigUint64(0, true))));
    const bad = ok.slice();
    bad.set(new TextEncoder().encode(text.replace('"F32"', '"F16"').replace('[0,64]', '[0,32]')), 8);
    expectFormatError(() => parseSafetensors(bad), 'size-mismatch');
  });
  it('a header length one byte short shifts the data section: caught, not read shifted', () => {
    const f = read(join(hfDir, 'model.safetensors'));
    const dv = new DataView(f.buffer);
    dv.setBigUint64(0, dv.getBigUint64(0, true) - 1n, true);
    expect(() => parseSafetensors(f)).toThrow(ModelFormatError);
  });
  it('a gap between tensors, and bytes after the last, are size-mismatch', () => {
    const two = safetensorsOf({ a: { dtype: 'F32', shape: [16], data: f32Bytes(x) }, b: { dtype: 'F32', shape: [16], data: f32Bytes(x) } });
    const text = new TextDecoder().decode(two.subarray(8, 8 + Number(new DataView(two.buffer).getBigUint64(0, true))));
    const gap = two.slice();
    gap.set(new TextEncoder().encode(text.replace('[0,64]', '[0,60]').replace('"F32","shape":[16]', '"F32","shape":[15]')), 8);
    expectFormatError(() => parseSafetensors(gap), 'size-mismatch');
    const longer = new Uint8Array(two.length + 4);
    longer.set(two);
    expectFormatError(() => parseSafetensors(longer), 'size-mismatch');
  });
  it('a header over 100 MB is refused before it is decoded', () => {
    const f = new Uint8Array(8 + 100_000_001 + 8);
    new DataView(f.buffer).setBigUint64(0, 100_000_001n, true);
    expectFormatError(() => parseSafetensors(f), 'header-out-of-range');
  });
  it('a 100 KB tensor name makes a short message', () => {
    const f = safetensorsOf({ ['w'.repeat(100_000)]: { dtype: 'Q9', shape: [4], data: new Uint8Array(16) } });
    const e = (() => {
      try {
        parseSafetensors(f);
      } catch (x) {
        return x as ModelFormatError;
      }
    })();
    expect(e).toMatchObject({ problem: 'unknown-dtype' });
    expect(e!.message.length).toBeLessThanOrEqual(403);
  });
  it('a JSON error does not quote the file', () => {
    const f = Uint8Array.from([...new Uint8Array([22, 0, 0, 0, 0, 0, 0, 0]), ...new TextEncoder().encode('{"SECRET-BYTES": oops}')]);
    expect(() => parseSafetensors(f)).toThrow(ModelFormatError);
    expect(() => parseSafetensors(f)).not.toThrow(/SECRET/);
  });
});

describe('sharded index', () => {
  it.each(['../../etc/passwd', '/etc/passwd', 'sub/model.safetensors', '..\\x.safetensors', 'config.json', 42])('weight_map naming %j is refused, nothing outside read or quoted', async (shard) => {
    const secret = scratchDir('d2o-shard-');
    writeFileSync(join(secret, 'passwd'), 'root:SECRET');
    const f = hfFiles();
    const e = await loadHf(memoryFolder({ ...f, 'model.safetensors.index.json': { weight_map: { 'model.norm.weight': shard } } })).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ModelFormatError);
    expect((e as ModelFormatError).problem).toBe('bad-header');
    expect((e as Error).message).not.toMatch(/SECRET|root:/);
  });
});

describe('llama2.c', () => {
  const model = read(stories260K.bin);
  const tok = read(stories260K.tokenizer);
  it('a file longer than its header implies is size-mismatch (37 such corruptions loaded before)', () => {
    const longer = new Uint8Array(model.length + 4);
    longer.set(model);
    expectFormatError(() => parseLlama2c(longer, none), 'size-mismatch');
    // Fewer layers in the header: the file is then longer than it implies.
    const fewer = model.slice();
    new DataView(fewer.buffer).setInt32(8, 4, true);
    expectFormatError(() => parseLlama2c(fewer, none), 'size-mismatch');
  });
  it('a tokenizer smaller than the 259 ids its byte fallback emits is bad-config', () =>
    expectFormatError(() => createTokenizer({ kind: 'llama2c', bytes: tok, vocabSize: 200 }), 'bad-config'));

  /** tok512.bin with piece `at` replaced by `piece`. */
  function withPiece(at: number, piece: Uint8Array): Uint8Array {
    const dv = new DataView(tok.buffer, tok.byteOffset);
    let off = 4;
    for (let i = 0; i < at; i++) off += 8 + dv.getInt32(off + 4, true);
    const len = dv.getInt32(off + 4, true);
    const out = new Uint8Array(tok.length - len + piece.length);
    out.set(tok.subarray(0, off + 4));
    new DataView(out.buffer).setInt32(off + 4, piece.length, true);
    out.set(piece, off + 8);
    out.set(tok.subarray(off + 8 + len), off + 8 + piece.length);
    return out;
  }
  it('a 1 MB piece loads (no call-stack overflow) and is decoded whole', () => {
    const piece = new Uint8Array(1 << 20).fill(0x61);
    const t = createTokenizer({ kind: 'llama2c', bytes: withPiece(400, piece), vocabSize: 512 });
    expect(t.decode([5, 400]).length).toBeGreaterThanOrEqual(1 << 20);
  });

  /** run.c's merge loop as written there (quadratic): the reference for mergeByScore. */
  function naiveMerge(tokens: number[], scores: Float32Array, pairId: (a: number, b: number) => number): number[] {
    const t = [...tokens];
    for (;;) {
      let best = -1e10;
      let at = -1;
      for (let i = 0; i + 1 < t.length; i++) {
        const m = pairId(t[i], t[i + 1]);
        if (m >= 0 && scores[m] > best) {
          best = scores[m];
          at = i;
        }
      }
      if (at < 0) return t;
      t.splice(at, 2, pairId(t[at], t[at + 1]));
    }
  }
  it('the heap merge equals run.c\'s rescanning loop, ties included (random vocabularies)', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const r = rng(seed);
      const n = 12;
      // Merged ids n..n+k; few distinct scores, so ties are common.
      const pairs = new Map<string, number>();
      const scores = new Float32Array(64);
      for (let k = 0; k < 40; k++) {
        const key = `${Math.floor(r() * (n + k))},${Math.floor(r() * (n + k))}`;
        if (!pairs.has(key) && n + pairs.size < 64) {
          pairs.set(key, n + pairs.size);
          scores[n + pairs.size - 1] = Math.floor(r() * 4);
        }
      }
      const pairId = (a: number, b: number) => pairs.get(`${a},${b}`) ?? -1;
      const tokens = Array.from({ length: 1 + Math.floor(r() * 300) }, () => Math.floor(r() * n));
      expect(mergeByScore(tokens, scores, pairId)).toEqual(naiveMerge(tokens, scores, pairId));
    }
  });
  it('128K characters tokenize (in pieces that decode back to the text)', () => {
    const t = createTokenizer({ kind: 'llama2c', bytes: tok, vocabSize: 512 });
    const text = 'Once upon a time, there was a little girl named Lily. '.repeat(2400).slice(0, 128 * 1024);
    const ids = t.encode(text);
    expect(ids.length).toBeGreaterThan(10_000);
    expect(t.decode(ids)).toBe(text);
  });
});

describe('tokenizer.json ids', () => {
  const json = () => JSON.parse(readFileSync(join(hfDir, 'tokenizer.json'), 'utf8'));
  it.each([2.5, -1, '7', null])('a vocabulary id %j is bad-config when the tokenizer is made', (id) => {
    const j = json();
    j.model.vocab[Object.keys(j.model.vocab)[100]] = id;
    expectFormatError(() => createTokenizer({ kind: 'hf', tokenizerJson: j, tokenizerConfig: null }, [], 2048), 'bad-config');
  });
  it('an id at or past the model\'s vocabulary is bad-config; one below loads', () => {
    const j = json();
    j.added_tokens[0].id = 2048;
    expectFormatError(() => createTokenizer({ kind: 'hf', tokenizerJson: j, tokenizerConfig: null }, [], 2048), 'bad-config');
    expect(createTokenizer({ kind: 'hf', tokenizerJson: json(), tokenizerConfig: null }, [], 2048).vocabSize).toBe(2048);
  });
});

describe('paths (Node)', () => {
  const dir = scratchDir('d2o-paths-');
  mkdirSync(join(dir, 'x.gguf'));
  mkdirSync(join(dir, 'tokdir'));
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json']) symlinkSync(join(hfDir, f), join(dir, f));
  execFileSync('mkfifo', [join(dir, 'm.gguf')]);

  it.each(['model.safetensors', 'config.json'])('--model .../%s loads the folder it is in', async (f) => {
    const m = await loadModel(join(dir, f));
    expect(m.format).toBe('safetensors');
  });
  it('a folder named x.gguf is not-a-file', () => expectFormatErrorAsync(loadModel(join(dir, 'x.gguf')), 'not-a-file'));
  it('a FIFO named m.gguf is not-a-file, and the load does not hang on it', () => expectFormatErrorAsync(loadModel(join(dir, 'm.gguf')), 'not-a-file'));
  it('a tokenizer path that is a folder is not-a-file', () =>
    expectFormatErrorAsync(loadModel(stories260K.bin, { tokenizerPath: join(dir, 'tokdir') }), 'not-a-file'));
  it('a path to another kind of file says what to pass', async () => {
    writeFileSync(join(dir, 'notes.txt'), 'hello');
    await expectFormatErrorAsync(loadModel(join(dir, 'notes.txt')), 'not-a-file');
  });
});

describe('non-finite weights', () => {
  const nan32 = new Uint8Array(new Float32Array([NaN]).buffer);
  it('a NaN in an f32 safetensors tensor is non-finite, naming the tensor', async () => {
    const f = hfFiles();
    const st = f['model.safetensors'].slice();
    st.set(nan32, st.length - 4);
    const e = await loadHf(memoryFolder({ ...f, 'model.safetensors': st })).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ModelFormatError);
    expect(e).toMatchObject({ problem: 'non-finite' });
    expect((e as Error).message).toMatch(/tensor model\./);
  });
  it.each([
    ['f16', 0x7c00],
    ['bf16', 0xff80],
  ] as const)('an infinite %s value is non-finite', (dtype, bits) => {
    const x = new Uint8Array(64);
    new DataView(x.buffer).setUint16(10, bits, true);
    const m = parseSafetensors(safetensorsOf({ a: { dtype: dtype.toUpperCase(), shape: [32], data: x } }));
    expect(() => checkFinite(m)).toThrow(expect.objectContaining({ problem: 'non-finite' }));
  });
  it('a NaN block scale in a Q8_0 GGUF is non-finite; a NaN in llama2.c weights too', () => {
    const bytes = syntheticGguf(tiny, 'q8_0').bytes;
    const g = parseGguf(bytes, none).gguf;
    const at = g.dataOffset + g.tensorInfos.find((t) => t.name === 'blk.1.ffn_up.weight')!.offset + 34 * 3;
    new DataView(bytes.buffer).setUint16(at, 0x7e00, true);
    expectFormatError(() => parseGguf(bytes, none), 'non-finite');
    const model = read(stories260K.bin);
    model.set(nan32, 28 + 4 * 1000);
    expectFormatError(() => parseLlama2c(model, none), 'non-finite');
  });
});
