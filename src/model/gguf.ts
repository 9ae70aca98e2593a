/**
 * GGUF v2/v3. A small parser of ours rather than `@huggingface/gguf` (checked at 0.4.6): its `gguf(uri)`
 * always reads through fetch (or fs in Node), so parsing a buffer we already hold needs a fake fetch;
 * it throws plain Errors (we need our typed ModelFormatError problems); it gives bigint shapes and
 * does no range or overlap checks on the tensor data. The format is small enough to parse ourselves.
 */
import { ModelFormatError, UnsupportedModelError } from '../errors';
import { tensorByteSize } from './dtypes';
import { BLOCKS, isBlockDType } from './block-formats';
import { checkTensors } from './check-tensors';
import { checkConfig } from './check-config';
import { endOfGenerationIds, ggufTokenizer } from './gguf-tokenizer';
import { tensorNames, type Architecture, type DType, type Llama3RopeScaling, type ModelConfig, type ModelDescription, type Tensor, type TokenizerSource } from './types';

export const GGML_TYPES: Record<number, string> = {
  0: 'F32', 1: 'F16', 2: 'Q4_0', 3: 'Q4_1', 6: 'Q5_0', 7: 'Q5_1', 8: 'Q8_0', 9: 'Q8_1', 10: 'Q2_K', 11: 'Q3_K',
  12: 'Q4_K', 13: 'Q5_K', 14: 'Q6_K', 15: 'Q8_K', 16: 'IQ2_XXS', 17: 'IQ2_XS', 18: 'IQ3_XXS', 19: 'IQ1_S',
  20: 'IQ4_NL', 21: 'IQ3_S', 22: 'IQ2_S', 23: 'IQ4_XS', 24: 'I8', 25: 'I16', 26: 'I32', 27: 'I64', 28: 'F64',
  29: 'IQ1_M', 30: 'BF16',
};
export const GGML_TYPE_IDS: Record<DType, number> = { f32: 0, f16: 1, q4_0: 2, q4_1: 3, q5_0: 6, q5_1: 7, q8_0: 8, q4_k: 12, q5_k: 13, q6_k: 14, bf16: 30 };
const SUPPORTED = Object.fromEntries(Object.entries(GGML_TYPE_IDS).map(([dtype, id]) => [id, dtype])) as Record<number, DType>;
const SUPPORTED_NAMES = Object.values(GGML_TYPE_IDS).map((id) => GGML_TYPES[id]).join(', ');

/** Metadata value types, by their GGUF ids. */
export const GGUF_TYPE = { u8: 0, i8: 1, u16: 2, i16: 3, u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9, u64: 10, i64: 11, f64: 12 } as const;
export type GgufTypeName = keyof typeof GGUF_TYPE;

export type GgufValue = number | bigint | boolean | string | GgufValue[];

export interface GgufTensorInfo {
  name: string;
  /** Innermost first, as stored. */
  dims: number[];
  type: number;
  /** From the start of the data section. */
  offset: number;
}

export interface GgufFile {
  version: number;
  metadata: Map<string, GgufValue>;
  tensorInfos: GgufTensorInfo[];
  alignment: number;
  /** Where the data section starts in the file. */
  dataOffset: number;
}

class Reader {
  pos = 0;
  private readonly dv: DataView;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly file: string,
  ) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  private need(n: number, what: string): number {
    if (this.pos + n > this.bytes.byteLength)
      throw new ModelFormatError('truncated', `file ends at byte ${this.bytes.byteLength} while reading ${what} at byte ${this.pos}`, this.file);
    const at = this.pos;
    this.pos += n;
    return at;
  }
  u32(what: string): number {
    return this.dv.getUint32(this.need(4, what), true);
  }
  /** A count or offset: must fit a JS number. */
  u64(what: string): number {
    const v = this.dv.getBigUint64(this.need(8, what), true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ModelFormatError('bad-header', `implausible ${what} ${v} at byte ${this.pos - 8}`, this.file);
    return Number(v);
  }
  str(what: string): string {
    const n = this.u64(`${what} length`);
    const at = this.need(n, what);
    return new TextDecoder().decode(this.bytes.subarray(at, at + n));
  }
  value(type: number, what: string): GgufValue {
    const dv = this.dv;
    switch (type) {
      case GGUF_TYPE.u8: return dv.getUint8(this.need(1, what));
      case GGUF_TYPE.i8: return dv.getInt8(this.need(1, what));
      case GGUF_TYPE.u16: return dv.getUint16(this.need(2, what), true);
      case GGUF_TYPE.i16: return dv.getInt16(this.need(2, what), true);
      case GGUF_TYPE.u32: return dv.getUint32(this.need(4, what), true);
      case GGUF_TYPE.i32: return dv.getInt32(this.need(4, what), true);
      case GGUF_TYPE.f32: return dv.getFloat32(this.need(4, what), true);
      case GGUF_TYPE.bool: return dv.getUint8(this.need(1, what)) !== 0;
      case GGUF_TYPE.string: return this.str(what);
      case GGUF_TYPE.array: {
        const itemType = this.u32(`${what} item type`);
        const n = this.u64(`${what} length`);
        // Every item takes at least one byte, so a corrupt length ends in 'truncated', not a hang.
        const out: GgufValue[] = [];
        for (let i = 0; i < n; i++) out.push(this.value(itemType, what));
        return out;
      }
      case GGUF_TYPE.u64: return dv.getBigUint64(this.need(8, what), true);
      case GGUF_TYPE.i64: return dv.getBigInt64(this.need(8, what), true);
      case GGUF_TYPE.f64: return dv.getFloat64(this.need(8, what), true);
      default: throw new ModelFormatError('bad-header', `unknown metadata value type ${type} in ${what}`, this.file);
    }
  }
}

/** Header, metadata and tensor table; the tensor data is not touched. */
export function parseGgufHeader(bytes: Uint8Array, file = 'model.gguf'): GgufFile {
  const r = new Reader(bytes, file);
  if (bytes.byteLength < 4 || r.u32('magic') !== 0x46554747) throw new ModelFormatError('bad-header', 'not a GGUF file (magic bytes differ)', file);
  const version = r.u32('version');
  if (version !== 2 && version !== 3) throw new UnsupportedModelError(`${file}: GGUF version ${version} is not supported (2 and 3 are)`);
  const nTensors = r.u64('tensor count');
  const nKv = r.u64('metadata count');
  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < nKv; i++) {
    const key = r.str('metadata key');
    if (metadata.has(key)) throw new ModelFormatError('bad-header', `metadata key ${key} appears twice`, file);
    metadata.set(key, r.value(r.u32(`type of ${key}`), key));
  }
  const tensorInfos: GgufTensorInfo[] = [];
  const names = new Set<string>();
  for (let i = 0; i < nTensors; i++) {
    const name = r.str('tensor name');
    if (names.has(name)) throw new ModelFormatError('bad-header', `tensor ${name} appears twice`, file);
    names.add(name);
    const nDims = r.u32(`dimension count of ${name}`);
    if (nDims > 4) throw new ModelFormatError('bad-header', `tensor ${name} has ${nDims} dimensions`, file);
    const dims = Array.from({ length: nDims }, () => r.u64(`dimension of ${name}`));
    tensorInfos.push({ name, dims, type: r.u32(`type of ${name}`), offset: r.u64(`offset of ${name}`) });
  }
  // As llama.cpp: a power of two (a u32; an array or a string is not read as a number).
  const align = metadata.get('general.alignment') ?? 32;
  const alignment = typeof align === 'number' ? align : NaN;
  if (!Number.isInteger(alignment) || alignment <= 0 || (alignment & (alignment - 1)) !== 0)
    throw new ModelFormatError('bad-header', `general.alignment must be a power of two, got ${typeof align === 'number' ? align : typeof align}`, file);
  return { version, metadata, tensorInfos, alignment, dataOffset: Math.ceil(r.pos / alignment) * alignment };
}

/**
 * Tensors as views into `bytes`, in GGUF names and GGUF row order, after llama.cpp's layout checks:
 * in table order, each tensor starts where the one before ends, padded to the alignment, and the
 * data section ends with the last one (a type or size changed in the table shows as a gap).
 */
export function ggufTensors(bytes: Uint8Array, g: GgufFile, file = 'model.gguf'): Map<string, Tensor> {
  const dataLen = bytes.byteLength - g.dataOffset;
  if (dataLen < 0) throw new ModelFormatError('truncated', `file ends at byte ${bytes.byteLength}, before the tensor data at byte ${g.dataOffset}`, file);
  const out = new Map<string, Tensor>();
  let expected = 0;
  let end = 0;
  for (const t of g.tensorInfos) {
    const dtype = SUPPORTED[t.type];
    if (!dtype) {
      const typeName = GGML_TYPES[t.type];
      if (typeName) throw new UnsupportedModelError(`${file}: tensor ${t.name} has type ${typeName}; supported: ${SUPPORTED_NAMES}`);
      throw new ModelFormatError('unknown-dtype', `tensor ${t.name} has unknown ggml type ${t.type}`, file);
    }
    const blockElements = isBlockDType(dtype) ? BLOCKS[dtype].elements : 1;
    if ((t.dims[0] ?? 1) % blockElements)
      throw new ModelFormatError('size-mismatch', `tensor ${t.name}: ${GGML_TYPES[t.type]} rows of ${t.dims[0]} are not whole ${blockElements}-element blocks`, file);
    const shape = [...t.dims].reverse();
    const size = tensorByteSize(dtype, shape);
    if (t.offset + size > dataLen)
      throw new ModelFormatError('tensor-out-of-range', `tensor ${t.name} spans bytes [${t.offset}, ${t.offset + size}) but the data section has ${dataLen}`, file);
    if (t.offset % g.alignment) throw new ModelFormatError('bad-header', `tensor ${t.name} starts at byte ${t.offset}, not a multiple of the alignment ${g.alignment}`, file);
    if (t.offset < expected) throw new ModelFormatError('tensor-overlap', `tensor ${t.name} starts at byte ${t.offset}, inside the tensor before it (which ends at ${end})`, file);
    if (t.offset > expected) throw new ModelFormatError('size-mismatch', `tensor ${t.name} starts at byte ${t.offset}; the tensors before it end at ${end} (${expected} aligned)`, file);
    end = t.offset + size;
    expected = Math.ceil(end / g.alignment) * g.alignment;
    const start = g.dataOffset + t.offset;
    out.set(t.name, { name: t.name, dtype, shape, data: bytes.subarray(start, start + size) });
  }
  if (dataLen < end || dataLen > expected) throw new ModelFormatError('size-mismatch', `the tensors end at byte ${end} of the data section (${expected} aligned), which has ${dataLen}`, file);
  return out;
}

/**
 * llama.cpp's converter reorders each head's q/k rows from rotate-half pairs (i, i+d/2) to
 * interleaved pairs (2i, 2i+1): HF row h*d + s*d/2 + i is GGUF row h*d + 2i + s. This undoes it.
 * Whole rows move, so quantized blocks stay intact; the result is necessarily a copy.
 */
export function unpermuteRows(t: Tensor, heads: number): Tensor {
  const rows = t.shape[0];
  const rowBytes = t.data.byteLength / rows;
  const hd = rows / heads;
  const data = new Uint8Array(t.data.byteLength);
  for (let h = 0; h < heads; h++)
    for (let i = 0; i < hd / 2; i++)
      for (let s = 0; s < 2; s++) {
        const src = (h * hd + 2 * i + s) * rowBytes;
        data.set(t.data.subarray(src, src + rowBytes), (h * hd + s * (hd / 2) + i) * rowBytes);
      }
  return { ...t, data };
}

/** GGUF layer tensor names (`blk.N.<name>`) -> our per-layer keys (`tensorNames.layer`). */
export const LAYER_NAMES: Record<string, keyof ReturnType<typeof tensorNames.layer>> = {
  'attn_norm.weight': 'attnNorm', 'attn_q.weight': 'q', 'attn_k.weight': 'k', 'attn_v.weight': 'v', 'attn_output.weight': 'o',
  'attn_q.bias': 'qBias', 'attn_k.bias': 'kBias', 'attn_v.bias': 'vBias',
  'ffn_norm.weight': 'mlpNorm', 'ffn_gate.weight': 'gate', 'ffn_up.weight': 'up', 'ffn_down.weight': 'down',
};

function canonicalName(name: string): string | null {
  if (name === 'token_embd.weight') return tensorNames.embed;
  if (name === 'output_norm.weight') return tensorNames.finalNorm;
  if (name === 'output.weight') return tensorNames.lmHead;
  const m = /^blk\.(\d+)\.(\w+\.(?:weight|bias))$/.exec(name);
  return m && LAYER_NAMES[m[2]] ? tensorNames.layer(Number(m[1]))[LAYER_NAMES[m[2]]] : null;
}

/** Our canonical name -> its GGUF name (`output.weight` for the LM head), or null for a name GGUF has no place for. */
export function ggufTensorName(canonical: string): string | null {
  if (canonical === tensorNames.embed) return 'token_embd.weight';
  if (canonical === tensorNames.finalNorm) return 'output_norm.weight';
  if (canonical === tensorNames.lmHead) return 'output.weight';
  const m = /^model\.layers\.(\d+)\./.exec(canonical);
  if (!m) return null;
  const names = tensorNames.layer(Number(m[1])) as Record<string, string>;
  const gguf = Object.entries(LAYER_NAMES).find(([, key]) => names[key] === canonical)?.[0];
  return gguf ? `blk.${m[1]}.${gguf}` : null;
}

/** llama.cpp's converter reorders q/k rows for these architectures only (Qwen2 runs NeoX-style RoPE on HF's order). */
const PERMUTED_QK = new Set(['llama', 'mistral']);

/** Llama-3's per-pair frequency divisors, as llama.cpp's converter writes them into rope_freqs.weight. */
export function llama3RopeDivisors(s: Llama3RopeScaling, theta: number, headDim: number): Float32Array {
  const lowWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
  const highWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor;
  return Float32Array.from({ length: headDim / 2 }, (_, i) => {
    const wavelen = 2 * Math.PI * theta ** ((2 * i) / headDim);
    if (wavelen < highWavelen) return 1;
    if (wavelen > lowWavelen) return s.factor;
    const smooth = (s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
    return 1 / ((1 - smooth) / s.factor + smooth);
  });
}

/**
 * A Llama-3.x GGUF keeps its rope scaling only as rope_freqs.weight. The converter always uses
 * low/high factors 1 and 4 and an original context of 8192 (Llama 3.1-3.3), so the factor is the
 * largest divisor; anything these parameters do not reproduce is a scaling we cannot express.
 */
function ropeScalingFromFreqs(t: Tensor, theta: number, headDim: number, file: string): Llama3RopeScaling | null {
  if (t.dtype !== 'f32' || t.shape.length !== 1 || t.shape[0] !== headDim / 2)
    throw new ModelFormatError('size-mismatch', `rope_freqs.weight is ${t.dtype} ${JSON.stringify(t.shape)}, expected f32 [${headDim / 2}]`, file);
  const divisors = new Float32Array(t.data.slice().buffer);
  if (!divisors.every((d) => Number.isFinite(d) && d > 0)) throw new ModelFormatError('bad-config', 'rope_freqs.weight holds a divisor that is not a finite number above 0', file);
  const factor = Math.max(...divisors);
  if (divisors.every((d) => d === 1)) return null;
  const s: Llama3RopeScaling = { type: 'llama3', factor, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 };
  const expected = llama3RopeDivisors(s, theta, headDim);
  if (expected.some((e, i) => Math.abs(e - divisors[i]) > 1e-4 * e))
    throw new UnsupportedModelError(`${file}: rope_freqs.weight holds a frequency scaling other than Llama-3's`);
  return s;
}

/** The shortest decimal that reads back as the same float32: 1e-6 rather than 9.99999997e-7, as in config.json. */
function shortestF32(x: number): number {
  for (let p = 1; p < 9; p++) {
    const y = Number(x.toPrecision(p));
    if (Math.fround(y) === x) return y;
  }
  return x;
}

export type GgufModel = ModelDescription & { gguf: GgufFile };

/**
 * A whole llama/mistral/qwen2 GGUF: config from the metadata, canonical names, q/k back in HF row order.
 * `tokenizer`: one found beside the file wins; without one ('none'), the file's own metadata tokenizer.
 */
export function parseGguf(bytes: Uint8Array, tokenizer: TokenizerSource, file = 'model.gguf'): GgufModel {
  const g = parseGgufHeader(bytes, file);
  const md = g.metadata;
  if (tokenizer.kind === 'none') tokenizer = ggufTokenizer(md, file) ?? tokenizer;
  const arch = String(md.get('general.architecture') ?? 'unknown');
  if (arch !== 'llama' && arch !== 'mistral' && arch !== 'qwen2') throw new UnsupportedModelError(`${file}: architecture ${arch} is not supported (llama, mistral and qwen2 are)`);
  const num = (key: string, fallback?: number): number => {
    const v = md.get(`${arch}.${key}`) ?? fallback;
    if (v === undefined) throw new ModelFormatError('bad-config', `metadata ${arch}.${key} is missing`, file);
    if (typeof v !== 'number' && typeof v !== 'bigint') throw new ModelFormatError('bad-config', `metadata ${arch}.${key} is not a number`, file);
    return Number(v);
  };
  /** Token ids: a number, or NaN for anything else (checkConfig names it). */
  const tokenId = (v: GgufValue | undefined) => (typeof v === 'number' || typeof v === 'bigint' ? Number(v) : NaN);
  const raw = ggufTensors(bytes, g, file);

  const hiddenSize = num('embedding_length');
  const numHeads = num('attention.head_count');
  const numKvHeads = num('attention.head_count_kv', numHeads);
  const headDim = num('attention.key_length', hiddenSize / numHeads);
  const scalingType = md.get(`${arch}.rope.scaling.type`);
  if (scalingType !== undefined && scalingType !== 'none') throw new UnsupportedModelError(`${file}: rope scaling ${String(scalingType)} is not supported (llama3 is)`);
  const theta = shortestF32(num('rope.freq_base', 10000));
  const embed = raw.get('token_embd.weight');
  if (!embed) throw new ModelFormatError('missing-tensor', 'tensor token_embd.weight is missing', file);

  // llama.cpp ends generation at eot and eom too, and at the tokens its list names by text (<|im_end|>, <|eot_id|>, ...).
  const stops = ['eos', 'eot', 'eom'].map((k) => md.get(`tokenizer.ggml.${k}_token_id`)).filter((v) => v !== undefined);
  stops.push(...endOfGenerationIds(md));
  const bos = md.get('tokenizer.ggml.bos_token_id');
  const window = md.get(`${arch}.attention.sliding_window`);
  const tied = !raw.has('output.weight');
  const config: ModelConfig = {
    architecture: arch as Architecture,
    hiddenSize,
    intermediateSize: num('feed_forward_length'),
    numLayers: num('block_count'),
    numHeads,
    numKvHeads,
    headDim,
    vocabSize: embed.shape[0],
    maxPositionEmbeddings: num('context_length', 2048),
    rmsNormEps: shortestF32(num('attention.layer_norm_rms_epsilon', 1e-5)),
    rope: { theta, layout: 'half', scaling: null },
    slidingWindow: window === undefined ? null : tokenId(window),
    tieWordEmbeddings: tied,
    bosTokenId: bos === undefined ? null : tokenId(bos),
    eosTokenIds: [...new Set(stops.map(tokenId))],
  };
  checkConfig(config, file, {
    hiddenSize: `${arch}.embedding_length`, intermediateSize: `${arch}.feed_forward_length`, numLayers: `${arch}.block_count`,
    numHeads: `${arch}.attention.head_count`, numKvHeads: `${arch}.attention.head_count_kv`, headDim: `${arch}.attention.key_length`,
    vocabSize: 'token_embd.weight rows', maxPositionEmbeddings: `${arch}.context_length`, rmsNormEps: `${arch}.attention.layer_norm_rms_epsilon`,
    'rope.theta': `${arch}.rope.freq_base`, slidingWindow: `${arch}.attention.sliding_window`,
    bosTokenId: 'tokenizer.ggml.bos_token_id', eosTokenIds: 'tokenizer.ggml.eos_token_id / eot_token_id / eom_token_id',
  });
  if (num('rope.dimension_count', headDim) !== headDim) throw new UnsupportedModelError(`${file}: partial RoPE (rope.dimension_count ${num('rope.dimension_count')} of head size ${headDim}) is not supported`);
  const ropeFreqs = raw.get('rope_freqs.weight');
  if (ropeFreqs) config.rope.scaling = ropeScalingFromFreqs(ropeFreqs, theta, headDim, file);

  const tensors = new Map<string, Tensor>();
  for (const [name, t] of raw) {
    if (name === 'rope_freqs.weight') continue;
    const canon = canonicalName(name);
    // Unknown names stay as they are: checkTensors refuses what the architecture does not use.
    if (!canon) {
      tensors.set(name, t);
      continue;
    }
    const permuted = PERMUTED_QK.has(arch);
    const heads = !permuted ? 0 : name.endsWith('attn_q.weight') ? numHeads : name.endsWith('attn_k.weight') ? numKvHeads : 0;
    // A q/k of the wrong height is left as is for checkTensors to name.
    tensors.set(canon, { ...(heads && t.shape[0] === heads * headDim ? unpermuteRows(t, heads) : t), name: canon });
  }
  if (tied) tensors.set(tensorNames.lmHead, tensors.get(tensorNames.embed)!);
  checkTensors(config, tensors, file);
  return { format: 'gguf', config, tensors, tokenizer, generationConfig: null, gguf: g };
}
