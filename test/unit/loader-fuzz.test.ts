/**
 * A seeded, bounded fuzz of the three loaders (llama2.c, Hugging Face safetensors, GGUF) on the
 * shared models: truncations, byte flips in headers, metadata and weights, absurd counts and sizes,
 * malformed JSON, mismatched shapes. Each case must end in a typed error (ModelFormatError or
 * UnsupportedModelError, with a short message) or in a verified-correct load: the same tensors as
 * the pristine file (other but finite values where weight bytes were flipped), a config that
 * differs only in settings a file may legitimately change (each then in range), a tokenizer whose
 * ids stay in the vocabulary, and finite NLL on the CPU reference.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CpuBackend } from '../../src/cpu/backend';
import { ModelFormatError, UnsupportedModelError } from '../../src/errors';
import { ggufTensors, parseGgufHeader, type GgufValue } from '../../src/model/gguf';
import { writeGguf, type GgufMetadataEntry } from '../../src/model/gguf-writer';
import { loadModel, type LoadedModel } from '../../src/model/load';
import type { FileSource } from '../../src/model/sources';
import type { ModelConfig } from '../../src/model/types';
import { createTokenizer } from '../../src/tokenizer';
import { rng } from '../cases/random';
import { safetensorsBytes, type RawEntry } from '../fixtures/model-builders';
import { stories260K, tinystories656k } from '../helpers/models';

type Files = Record<string, Uint8Array>;
interface Case {
  label: string;
  files: Files;
  main?: string;
  /** Bytes of tensor data were changed: a load may hold other values (still finite). */
  data?: boolean;
}

const read = (path: string) => new Uint8Array(readFileSync(path));
const enc = new TextEncoder();
const dec = new TextDecoder();

/** A folder held in memory, read without copies. */
function memory(files: Files): FileSource {
  return {
    name: 'fuzz',
    list: async () => Object.keys(files),
    size: async (f) => files[f]?.byteLength ?? null,
    read: async (f) => {
      if (!files[f]) throw new ModelFormatError('missing-file', 'not found', f);
      return files[f];
    },
  };
}

/** Loads as createEngine does: the model, then its tokenizer. */
async function load(c: Case) {
  const model = await loadModel({ source: memory(c.files), file: c.main });
  const tokenizer = model.tokenizer.kind === 'none' ? null : createTokenizer(model.tokenizer, model.config.eosTokenIds, model.config.vocabSize);
  return { model, tokenizer };
}

/** Settings a valid file may set to another value; the loaders range-check them. */
const FREE: (keyof ModelConfig)[] = ['rmsNormEps', 'rope', 'maxPositionEmbeddings', 'bosTokenId', 'eosTokenIds'];

/** 'error' (typed), 'loaded' (verified), or what went wrong. */
async function verify(c: Case, base: LoadedModel): Promise<string> {
  let got: Awaited<ReturnType<typeof load>>;
  try {
    got = await load(c);
  } catch (e) {
    if (!(e instanceof ModelFormatError || e instanceof UnsupportedModelError)) return `untyped ${(e as Error)?.name}: ${(e as Error)?.message}`;
    if (e.message.length > 400) return `a ${e.message.length}-character message`;
    return 'error';
  }
  const { model, tokenizer } = got;
  const cfg = model.config;
  for (const k of Object.keys(base.config) as (keyof ModelConfig)[])
    if (!FREE.includes(k) && JSON.stringify(cfg[k]) !== JSON.stringify(base.config[k])) return `loaded with ${k} ${JSON.stringify(cfg[k])}`;
  if (!(cfg.rmsNormEps > 0 && Number.isFinite(cfg.rmsNormEps) && cfg.rope.theta > 1 && Number.isFinite(cfg.rope.theta))) return `loaded with eps ${cfg.rmsNormEps}, theta ${cfg.rope.theta}`;
  if ([cfg.bosTokenId ?? 0, ...cfg.eosTokenIds].some((id) => !Number.isInteger(id) || id < 0 || id >= cfg.vocabSize)) return 'loaded with an id past the vocabulary';
  if (model.tensors.size !== base.tensors.size) return `loaded ${model.tensors.size} tensors, not ${base.tensors.size}`;
  for (const [name, t] of base.tensors) {
    const u = model.tensors.get(name);
    if (!u || u.dtype !== t.dtype || JSON.stringify(u.shape) !== JSON.stringify(t.shape) || (!c.data && Buffer.compare(u.data, t.data) !== 0)) return `tensor ${name} differs`;
  }
  const ids = tokenizer ? tokenizer.encode('Once upon a time, a cat sat.') : [1, 5, 9, 3];
  if (ids.some((id) => !Number.isInteger(id) || id < 0 || id >= cfg.vocabSize)) return 'the tokenizer gave an id past the vocabulary';
  const nll = await new CpuBackend(model).nll(ids.slice(0, 6));
  if (!nll.every(Number.isFinite)) return 'non-finite NLL';
  return 'loaded';
}

/** Runs `n` seeded cases; each must be a typed error or a verified load, and both must occur. */
async function fuzz(n: number, seed: number, mutate: (r: () => number) => Case, base: LoadedModel): Promise<void> {
  const r = rng(seed);
  const failures: string[] = [];
  const seen = { error: 0, loaded: 0 };
  for (let i = 0; i < n; i++) {
    const c = mutate(r);
    const outcome = await verify(c, base);
    if (outcome === 'error' || outcome === 'loaded') seen[outcome]++;
    else failures.push(`${i} ${c.label}: ${outcome}`);
  }
  expect(failures).toEqual([]);
  expect(seen.error).toBeGreaterThan(0);
  expect(seen.loaded).toBeGreaterThan(0);
}

const ABSURD_I32 = [0, -1, 1, 2, 3, 7, 2 ** 31 - 1, -(2 ** 31), 1000, 65536];
const ABSURD_U64 = [0n, 1n, 2n ** 32n - 1n, 2n ** 40n, 2n ** 53n, 2n ** 60n, 2n ** 64n - 1n];
const HOSTILE_JSON: unknown[] = [null, -1, 0, 1.5, 'abc', 1e308, 2 ** 53, [1], {}, true, 99999, -0.5];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)];
}

/** `k` random bytes of [from, to) set to random values. */
function flip(bytes: Uint8Array, r: () => number, from: number, to: number, k: number): Uint8Array {
  const out = bytes.slice();
  for (let i = 0; i < k; i++) out[from + Math.floor(r() * (to - from))] = Math.floor(r() * 256);
  return out;
}

function truncate(bytes: Uint8Array, r: () => number, headerEnd: number): Uint8Array {
  return bytes.slice(0, r() < 0.5 ? Math.floor(r() * headerEnd) : Math.floor(r() * bytes.length));
}

describe('llama2.c loader fuzz (stories260K)', () => {
  const model = read(stories260K.bin);
  const tok = read(stories260K.tokenizer);
  const files = { 'stories260K.bin': model, 'tok512.bin': tok };
  const mutate = (r: () => number): Case => {
    const kind = Math.floor(r() * 6);
    const c = (label: string, f: Partial<Files>): Case => ({ label, files: { ...files, ...f } as Files, main: 'stories260K.bin' });
    if (kind === 0) return c('truncated model', { 'stories260K.bin': truncate(model, r, 28) });
    if (kind === 1) {
      const m = model.slice();
      const field = Math.floor(r() * 7);
      const v = pick(r, ABSURD_I32);
      new DataView(m.buffer).setInt32(field * 4, v, true);
      return c(`header int ${field} = ${v}`, { 'stories260K.bin': m });
    }
    if (kind === 2) return c('header flips', { 'stories260K.bin': flip(model, r, 0, 28, 1 + Math.floor(r() * 3)) });
    if (kind === 3) {
      if (r() < 0.5) return { ...c('weight flips', { 'stories260K.bin': flip(model, r, 28, model.length, 1 + Math.floor(r() * 8)) }), data: true };
      const m = new Uint8Array(model.length + 1 + Math.floor(r() * 64));
      m.set(model);
      return c('trailing bytes', { 'stories260K.bin': m });
    }
    if (kind === 4) return r() < 0.5 ? c('truncated tokenizer', { 'tok512.bin': truncate(tok, r, 64) }) : c('tokenizer flips', { 'tok512.bin': flip(tok, r, 4, tok.length, 1 + Math.floor(r() * 3)) });
    const t = tok.slice();
    // A piece's length field: at most a few KiB in, so it is one of the first pieces'.
    const dv = new DataView(t.buffer);
    let off = 4;
    for (let i = Math.floor(r() * 40); i > 0; i--) off += 8 + dv.getInt32(off + 4, true);
    const v = pick(r, ABSURD_I32);
    dv.setInt32(off + 4, v, true);
    return c(`tokenizer piece length ${v}`, { 'tok512.bin': t });
  };

  it('120 seeded cases: a typed error or a verified load each', async () => {
    const base = (await load({ label: 'pristine', files, main: 'stories260K.bin' })).model;
    await fuzz(120, 14001, mutate, base);
  });
});

describe('Hugging Face loader fuzz (TinyStories-656K safetensors)', () => {
  const dir = tinystories656k.dir;
  const names = ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'];
  const files: Files = Object.fromEntries(names.map((n) => [n, read(join(dir, n))]));
  const st = files['model.safetensors'];
  const headerLen = Number(new DataView(st.buffer, st.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(dec.decode(st.subarray(8, 8 + headerLen))) as Record<string, RawEntry>;
  const data = st.subarray(8 + headerLen);
  const json = (name: string) => JSON.parse(dec.decode(files[name])) as Record<string, unknown>;

  const mutate = (r: () => number): Case => {
    const kind = Math.floor(r() * 9);
    const c = (label: string, f: Files): Case => ({ label, files: { ...files, ...f } });
    if (kind === 0)
      return r() < 0.5
        ? c('truncated weights', { 'model.safetensors': truncate(st, r, 8 + headerLen) })
        : { ...c('weight flips', { 'model.safetensors': flip(st, r, 8 + headerLen, st.length, 1 + Math.floor(r() * 8)) }), data: true };
    if (kind === 1) {
      const m = st.slice();
      const len = r() < 0.5 ? BigInt(headerLen + Math.floor(r() * 17) - 8) : pick(r, ABSURD_U64);
      new DataView(m.buffer).setBigUint64(0, len, true);
      return c(`header length ${len}`, { 'model.safetensors': m });
    }
    if (kind === 2) return c('header flips', { 'model.safetensors': flip(st, r, 8, 8 + headerLen, 1 + Math.floor(r() * 3)) });
    if (kind === 3) {
      // A mismatched shape, offsets or dtype, the header rewritten consistently around it.
      const h = structuredClone(header);
      const name = pick(r, Object.keys(h).filter((k) => k !== '__metadata__'));
      const e = h[name];
      const what = Math.floor(r() * 3);
      if (what === 0) e.shape = e.shape.map((d) => (r() < 0.5 ? d : pick(r, [0, 1, d + 1, d * 2, d - 1])));
      else if (what === 1) e.data_offsets = [e.data_offsets[0] + pick(r, [-4, 0, 2, 4]), e.data_offsets[1] + pick(r, [-4, 0, 2, 4])];
      else e.dtype = pick(r, ['F16', 'BF16', 'F64', 'I8', 'Q4', '']);
      const m = safetensorsBytes(h, data.length);
      m.set(data, m.length - data.length);
      return c(`tensor ${name} ${JSON.stringify(e)}`, { 'model.safetensors': m });
    }
    if (kind === 4) {
      const cfg = json('config.json');
      const key = pick(r, [...Object.keys(cfg), 'head_dim', 'num_key_value_heads', 'rope_scaling', 'sliding_window']);
      const v = pick(r, HOSTILE_JSON);
      return c(`config.json ${key} = ${JSON.stringify(v)}`, { 'config.json': enc.encode(JSON.stringify({ ...cfg, [key]: v })) });
    }
    if (kind === 5) return c('truncated config.json', { 'config.json': truncate(files['config.json'], r, files['config.json'].length) });
    if (kind === 6) {
      const t = json('tokenizer.json') as { model: { vocab: Record<string, unknown> }; added_tokens: { id: unknown }[] };
      const v = pick(r, HOSTILE_JSON);
      if (r() < 0.5) t.model.vocab[pick(r, Object.keys(t.model.vocab))] = v;
      else pick(r, t.added_tokens).id = v;
      return c(`tokenizer.json id ${JSON.stringify(v)}`, { 'tokenizer.json': enc.encode(JSON.stringify(t)) });
    }
    if (kind === 7) return c('tokenizer.json flips', { 'tokenizer.json': flip(files['tokenizer.json'], r, 0, files['tokenizer.json'].length, 1 + Math.floor(r() * 3)) });
    const shard = pick(r, ['../model.safetensors', '/etc/passwd', 'model.safetensors', 'a/../model.safetensors', '', 7, null]);
    return c(`index naming ${JSON.stringify(shard)}`, { 'model.safetensors.index.json': enc.encode(JSON.stringify({ weight_map: Object.fromEntries(Object.keys(header).map((k) => [k, shard])) })) });
  };

  it('120 seeded cases: a typed error or a verified load each', async () => {
    const base = (await load({ label: 'pristine', files })).model;
    await fuzz(120, 14002, mutate, base);
  });
});

describe('GGUF loader fuzz (TinyStories-656K Q8_0)', () => {
  const name = 'tinystories-656k-q8_0.gguf';
  const gguf = read(tinystories656k.gguf);
  const files: Files = { [name]: gguf, 'tokenizer.json': read(join(tinystories656k.dir, 'tokenizer.json')) };
  const g = parseGgufHeader(gguf);
  const raw = ggufTensors(gguf, g);
  /** Where each tensor-table entry's dims start (after its name and dimension count). */
  const dimsAt = g.tensorInfos.map((t) => {
    const needle = enc.encode(t.name);
    for (let i = 24; i < g.dataOffset; i++) if (needle.every((b, j) => gguf[i + j] === b) && Number(new DataView(gguf.buffer).getBigUint64(i - 8, true)) === needle.length) return i + needle.length + 4;
    throw new Error(`no table entry for ${t.name}`);
  });

  /** The file rewritten with one metadata value replaced. */
  const rewrite = (key: string, value: GgufValue, type?: GgufMetadataEntry[2]) =>
    writeGguf(
      [...g.metadata].map(([k, v]): GgufMetadataEntry => (k === key ? [k, value, type] : [k, v])),
      g.tensorInfos.map((t) => ({ name: t.name, dtype: raw.get(t.name)!.dtype, shape: raw.get(t.name)!.shape, data: raw.get(t.name)!.data })),
    );

  const mutate = (r: () => number): Case => {
    const kind = Math.floor(r() * 6);
    const c = (label: string, bytes: Uint8Array): Case => ({ label, files: { ...files, [name]: bytes }, main: name });
    if (kind === 0) return c('truncated', truncate(gguf, r, g.dataOffset));
    if (kind === 1) return c('header flips', flip(gguf, r, 0, g.dataOffset, 1 + Math.floor(r() * 3)));
    if (kind === 2) {
      const m = gguf.slice();
      const field = pick(r, ['tensor count', 'metadata count']);
      const v = pick(r, ABSURD_U64);
      new DataView(m.buffer).setBigUint64(field === 'tensor count' ? 8 : 16, v, true);
      return c(`${field} ${v}`, m);
    }
    if (kind === 3) {
      // A dimension, or the type or offset that follow the dims, of one tensor.
      const m = gguf.slice();
      const dv = new DataView(m.buffer);
      const i = Math.floor(r() * g.tensorInfos.length);
      const t = g.tensorInfos[i];
      const what = Math.floor(r() * 3);
      if (what === 0) {
        const v = pick(r, ABSURD_U64.concat([BigInt(t.dims[0] * 2), BigInt(t.dims[0] + 32)]));
        dv.setBigUint64(dimsAt[i] + 8 * Math.floor(r() * t.dims.length), v, true);
        return c(`${t.name} dim ${v}`, m);
      }
      const at = dimsAt[i] + 8 * t.dims.length;
      if (what === 1) {
        const type = pick(r, [0, 1, 2, 8, 30, 12, 99]);
        dv.setUint32(at, type, true);
        return c(`${t.name} type ${type}`, m);
      }
      const v = pick(r, ABSURD_U64.concat([BigInt(t.offset + 32), BigInt(Math.max(0, t.offset - 32)), BigInt(t.offset + 1)]));
      dv.setBigUint64(at + 4, v, true);
      return c(`${t.name} offset ${v}`, m);
    }
    if (kind === 4) {
      const key = pick(r, [...g.metadata.keys()].filter((k) => !k.startsWith('tokenizer.ggml.tokens') && !k.startsWith('tokenizer.ggml.merges')));
      const [value, type] = pick(r, [[NaN, 'f32'], [0, 'u32'], [-1, 'i32'], [1.5, 'f32'], [2n ** 40n, 'u64'], ['abc', undefined], [[1], 'u32'], [1e-30, 'f32'], [3, 'u32']] as [GgufValue, GgufMetadataEntry[2]][]);
      return c(`${key} = ${String(value)}`, rewrite(key, value, type));
    }
    if (r() < 0.5) return { ...c('weight flips', flip(gguf, r, g.dataOffset, gguf.length, 1 + Math.floor(r() * 8))), data: true };
    const m = new Uint8Array(gguf.length + 1 + Math.floor(r() * 64));
    m.set(gguf);
    return c('trailing bytes', m);
  };

  it('120 seeded cases: a typed error or a verified load each', async () => {
    const base = (await load({ label: 'pristine', files, main: name })).model;
    await fuzz(120, 14003, mutate, base);
  });
});
