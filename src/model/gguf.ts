/**
 * GGUF v2/v3. A small parser of ours rather than `@huggingface/gguf`: that package is built around
 * fetching ranges from a URL, while we need the header, metadata and tensor table from one
 * in-memory buffer in the browser and Node, with our own typed errors for every corruption.
 */
import { ModelFormatError, UnsupportedModelError } from '../errors';
import { tensorByteSize } from './dtypes';
import { checkTensors } from './check-tensors';
import { tensorNames, type Architecture, type DType, type ModelDescription, type Tensor, type TokenizerSource } from './types';

export const GGML_TYPES: Record<number, string> = {
  0: 'F32', 1: 'F16', 2: 'Q4_0', 3: 'Q4_1', 6: 'Q5_0', 7: 'Q5_1', 8: 'Q8_0', 9: 'Q8_1', 10: 'Q2_K', 11: 'Q3_K',
  12: 'Q4_K', 13: 'Q5_K', 14: 'Q6_K', 15: 'Q8_K', 16: 'IQ2_XXS', 17: 'IQ2_XS', 18: 'IQ3_XXS', 19: 'IQ1_S',
  20: 'IQ4_NL', 21: 'IQ3_S', 22: 'IQ2_S', 23: 'IQ4_XS', 24: 'I8', 25: 'I16', 26: 'I32', 27: 'I64', 28: 'F64',
  29: 'IQ1_M', 30: 'BF16',
};
export const GGML_TYPE_IDS: Record<DType, number> = { f32: 0, f16: 1, q4_0: 2, q8_0: 8, bf16: 30 };
const SUPPORTED: Record<number, DType> = { 0: 'f32', 1: 'f16', 2: 'q4_0', 8: 'q8_0', 30: 'bf16' };

export type GgufValue = number | bigint | boolean | string | GgufValue[];

export interface GgufTensorInfo {
  name: string;
  /** Innermost first, as stored. */
  dims: number[];
  type: number;
  offset: number;
}

export interface GgufFile {
  version: number;
  metadata: Map<string, GgufValue>;
  tensorInfos: GgufTensorInfo[];
  dataOffset: number;
}

class Reader {
  pos = 0;
  private readonly dv: DataView;
  constructor(private readonly bytes: Uint8Array, private readonly file: string) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  need(n: number, what: string): void {
    if (this.pos + n > this.bytes.byteLength)
      throw new ModelFormatError('truncated', `file ends at byte ${this.bytes.byteLength} while reading ${what} at ${this.pos}`, this.file);
  }
  u8() { this.need(1, 'u8'); return this.dv.getUint8(this.pos++); }
  u32() { this.need(4, 'u32'); const v = this.dv.getUint32(this.pos, true); this.pos += 4; return v; }
  u64(): number {
    this.need(8, 'u64');
    const v = this.dv.getBigUint64(this.pos, true);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ModelFormatError('bad-header', `implausible 64-bit count ${v} at byte ${this.pos - 8}`, this.file);
    return Number(v);
  }
  str(): string {
    const n = this.u64();
    this.need(n, 'string');
    const s = new TextDecoder().decode(this.bytes.subarray(this.pos, this.pos + n));
    this.pos += n;
    return s;
  }
  value(type: number): GgufValue {
    const dv = this.dv;
    const fixed = (n: number, get: (o: number) => GgufValue) => { this.need(n, 'value'); const v = get(this.pos); this.pos += n; return v; };
    switch (type) {
      case 0: return fixed(1, (o) => dv.getUint8(o));
      case 1: return fixed(1, (o) => dv.getInt8(o));
      case 2: return fixed(2, (o) => dv.getUint16(o, true));
      case 3: return fixed(2, (o) => dv.getInt16(o, true));
      case 4: return fixed(4, (o) => dv.getUint32(o, true));
      case 5: return fixed(4, (o) => dv.getInt32(o, true));
      case 6: return fixed(4, (o) => dv.getFloat32(o, true));
      case 7: return fixed(1, (o) => dv.getUint8(o) !== 0);
      case 8: return this.str();
      case 9: {
        const itemType = this.u32();
        const n = this.u64();
        const out: GgufValue[] = [];
        for (let i = 0; i < n; i++) out.push(this.value(itemType));
        return out;
      }
      case 10: return fixed(8, (o) => dv.getBigUint64(o, true));
      case 11: return fixed(8, (o) => dv.getBigInt64(o, true));
      case 12: return fixed(8, (o) => dv.getFloat64(o, true));
      default: throw new ModelFormatError('bad-header', `unknown metadata value type ${type} at byte ${this.pos}`, this.file);
    }
  }
}

export function parseGgufHeader(bytes: Uint8Array, file = 'model.gguf'): GgufFile {
  const r = new Reader(bytes, file);
  if (bytes.byteLength < 4 || r.u32() !== 0x46554747) throw new ModelFormatError('bad-header', 'not a GGUF file (magic bytes differ)', file);
  const version = r.u32();
  if (version !== 2 && version !== 3) throw new UnsupportedModelError(`${file}: GGUF version ${version} is not supported (2 and 3 are)`);
  const nTensors = r.u64();
  const nKv = r.u64();
  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < nKv; i++) {
    const key = r.str();
    metadata.set(key, r.value(r.u32()));
  }
  const tensorInfos: GgufTensorInfo[] = [];
  for (let i = 0; i < nTensors; i++) {
    const name = r.str();
    const nDims = r.u32();
    if (nDims > 4) throw new ModelFormatError('bad-header', `tensor ${name} has ${nDims} dimensions`, file);
    const dims = Array.from({ length: nDims }, () => r.u64());
    tensorInfos.push({ name, dims, type: r.u32(), offset: r.u64() });
  }
  const alignment = Number(metadata.get('general.alignment') ?? 32);
  const dataOffset = Math.ceil(r.pos / alignment) * alignment;
  return { version, metadata, tensorInfos, dataOffset };
}

/** Tensors as views into `bytes`, in GGUF names and GGUF row order, after every range check. */
export function ggufTensors(bytes: Uint8Array, g: GgufFile, file = 'model.gguf'): Map<string, Tensor> {
  const dataLen = bytes.byteLength - g.dataOffset;
  if (dataLen < 0) throw new ModelFormatError('truncated', `file ends before the tensor data at byte ${g.dataOffset}`, file);
  const out = new Map<string, Tensor>();
  const ranges: [number, number, string][] = [];
  for (const t of g.tensorInfos) {
    const dtype = SUPPORTED[t.type];
    if (!dtype) {
      const typeName = GGML_TYPES[t.type];
      if (typeName) throw new UnsupportedModelError(`${file}: tensor ${t.name} has type ${typeName}; supported: F32, F16, BF16, Q8_0, Q4_0`);
      throw new ModelFormatError('unknown-dtype', `tensor ${t.name} has unknown ggml type ${t.type}`, file);
    }
    const shape = [...t.dims].reverse();
    if ((dtype === 'q8_0' || dtype === 'q4_0') && t.dims[0] % 32)
      throw new ModelFormatError('size-mismatch', `tensor ${t.name}: ${GGML_TYPES[t.type]} rows of ${t.dims[0]} are not whole 32-element blocks`, file);
    const size = tensorByteSize(dtype, shape);
    if (t.offset + size > dataLen)
      throw new ModelFormatError('tensor-out-of-range', `tensor ${t.name} spans bytes [${t.offset}, ${t.offset + size}) but the data section has ${dataLen}`, file);
    ranges.push([t.offset, t.offset + size, t.name]);
    const start = g.dataOffset + t.offset;
    out.set(t.name, { name: t.name, dtype, shape, data: bytes.subarray(start, start + size) });
  }
  ranges.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < ranges.length; i++)
    if (ranges[i][0] < ranges[i - 1][1]) throw new ModelFormatError('tensor-overlap', `tensors ${ranges[i - 1][2]} and ${ranges[i][2]} overlap`, file);
  return out;
}

/**
 * llama.cpp's converter reorders q/k rows of each head from rotate-half pairs (i, i+d/2) to
 * interleaved pairs (2i, 2i+1). Whole rows move, so quantized blocks stay intact.
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

const LAYER_NAMES: Record<string, keyof ReturnType<typeof tensorNames.layer>> = {
  attn_norm: 'attnNorm', attn_q: 'q', attn_k: 'k', attn_v: 'v', attn_output: 'o',
  ffn_norm: 'mlpNorm', ffn_gate: 'gate', ffn_up: 'up', ffn_down: 'down',
};

function canonicalName(name: string): string | null {
  if (name === 'token_embd.weight') return tensorNames.embed;
  if (name === 'output_norm.weight') return tensorNames.finalNorm;
  if (name === 'output.weight') return tensorNames.lmHead;
  const m = /^blk\.(\d+)\.(\w+)\.weight$/.exec(name);
  return m && LAYER_NAMES[m[2]] ? tensorNames.layer(Number(m[1]))[LAYER_NAMES[m[2]]] : null;
}

export function parseGguf(bytes: Uint8Array, tokenizer: TokenizerSource, file = 'model.gguf'): ModelDescription & { gguf: GgufFile } {
  const g = parseGgufHeader(bytes, file);
  const md = g.metadata;
  const arch = String(md.get('general.architecture') ?? 'unknown');
  if (arch !== 'llama' && arch !== 'mistral') throw new UnsupportedModelError(`${file}: architecture ${arch} is not supported (llama and mistral are)`);
  const num = (key: string, fallback?: number): number => {
    const v = md.get(`${arch}.${key}`) ?? fallback;
    if (v === undefined) throw new ModelFormatError('bad-config', `metadata ${arch}.${key} is missing`, file);
    return Number(v);
  };
  const raw = ggufTensors(bytes, g, file);
  const hiddenSize = num('embedding_length');
  const numHeads = num('attention.head_count');
  const numKvHeads = num('attention.head_count_kv', numHeads);
  const embed = raw.get('token_embd.weight');
  const vocabSize = embed?.shape[0] ?? (md.get('tokenizer.ggml.tokens') as GgufValue[] | undefined)?.length ?? 0;
  const eos = md.get('tokenizer.ggml.eos_token_id');
  const bos = md.get('tokenizer.ggml.bos_token_id');
  const window = md.get(`${arch}.attention.sliding_window`);

  const tensors = new Map<string, Tensor>();
  for (const [name, t] of raw) {
    const canon = canonicalName(name);
    if (!canon) continue;
    const heads = name.endsWith('attn_q.weight') ? numHeads : name.endsWith('attn_k.weight') ? numKvHeads : 0;
    tensors.set(canon, { ...(heads ? unpermuteRows(t, heads) : t), name: canon });
  }
  const tied = !tensors.has(tensorNames.lmHead);
  if (tied && tensors.has(tensorNames.embed)) tensors.set(tensorNames.lmHead, tensors.get(tensorNames.embed)!);

  const config = {
    architecture: arch as Architecture,
    hiddenSize,
    intermediateSize: num('feed_forward_length'),
    numLayers: num('block_count'),
    numHeads,
    numKvHeads,
    headDim: num('attention.key_length', hiddenSize / numHeads),
    vocabSize,
    maxPositionEmbeddings: num('context_length', 2048),
    rmsNormEps: num('attention.layer_norm_rms_epsilon', 1e-5),
    rope: { theta: num('rope.freq_base', 10000), layout: 'half' as const, scaling: null },
    slidingWindow: window === undefined ? null : Number(window),
    tieWordEmbeddings: tied,
    bosTokenId: bos === undefined ? null : Number(bos),
    eosTokenIds: eos === undefined ? [] : [Number(eos)],
  };
  checkTensors(config, tensors, file);
  return { format: 'gguf', config, tensors, tokenizer, generationConfig: null, gguf: g };
}
