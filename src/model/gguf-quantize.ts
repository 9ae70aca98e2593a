/**
 * Any loaded model as a quantized GGUF, with the tensor types llama.cpp's llama-quantize picks for a
 * preset (llama-quant.cpp, without an importance matrix): Q4_K_M, Q5_K_M and Q6_K files as people
 * download them, for tests, the benchmark and the demo. Values go through the reference quantizers
 * (src/model/quantize.ts); nothing else is changed.
 */
import { dequantize } from './dtypes';
import { quantize } from './quantize';
import { LAYER_NAMES, llama3RopeDivisors } from './gguf';
import { llama2cTokenizerMetadata, tokenizerMetadata } from './gguf-tokenizer-metadata';
import { permuteRows, writeGguf, type GgufMetadataEntry, type GgufTensorOut } from './gguf-writer';
import { tensorNames, type DType, type ModelDescription } from './types';

export type QuantPreset = 'Q4_K_M' | 'Q5_K_M' | 'Q6_K' | 'Q8_0';

/** llama.cpp's LLAMA_FTYPE_MOSTLY_* ids, written as general.file_type. */
const FILE_TYPES: Record<QuantPreset, number> = { Q8_0: 7, Q4_K_M: 15, Q5_K_M: 17, Q6_K: 18 };
const BASE: Record<QuantPreset, DType> = { Q8_0: 'q8_0', Q4_K_M: 'q4_k', Q5_K_M: 'q5_k', Q6_K: 'q6_k' };
/** llama.cpp's fallbacks for rows that are not whole 256-element super-blocks. */
const FALLBACK: Partial<Record<DType, DType>> = { q4_k: 'q5_0', q5_k: 'q5_1', q6_k: 'q8_0' };

/** llama.cpp's use_more_bits: the first and last eighth of the layers, and every third between. */
function useMoreBits(layer: number, layers: number): boolean {
  const eighth = Math.floor(layers / 8);
  return layer < eighth || layer >= Math.floor((7 * layers) / 8) || (layer - eighth) % 3 === 2;
}

/**
 * The type llama-quantize gives a tensor (GGUF name, [rows, cols]) under `preset`: 1-D tensors stay
 * f32; the output matrix (the embedding when tied) gets Q6_K (Q8_0 when its rows are not whole
 * super-blocks); attn_v and ffn_down get Q6_K in the layers use_more_bits picks (the _M presets);
 * then K-quants fall back to Q5_0 / Q5_1 / Q8_0 on rows that are not multiples of 256, and to F16
 * on rows that are not multiples of 32.
 */
export function llamaCppTensorType(name: string, shape: number[], preset: QuantPreset, layers: number, tied: boolean): DType {
  if (shape.length < 2) return 'f32';
  const cols = shape[shape.length - 1];
  const base = BASE[preset];
  let type = base;
  const layer = Number(/^blk\.(\d+)\./.exec(name)?.[1] ?? -1);
  const medium = preset === 'Q4_K_M' || preset === 'Q5_K_M';
  if (name === 'output.weight' || (tied && name === 'token_embd.weight')) {
    if (cols % 256) type = 'q8_0';
    else if (base !== 'q8_0') type = 'q6_k';
  } else if (medium && (name.endsWith('attn_v.weight') || name.endsWith('ffn_down.weight')) && useMoreBits(layer, layers)) type = 'q6_k';
  if (cols % 256 && FALLBACK[type]) type = FALLBACK[type]!;
  if (cols % 32) type = 'f16';
  return type;
}

/** The model's tensors under their GGUF names, in llama.cpp's order, q/k rows in its RoPE order. */
function ggufTensorsOf(m: ModelDescription): { name: string; shape: number[]; values: Float32Array }[] {
  const c = m.config;
  const out: { name: string; shape: number[]; values: Float32Array }[] = [];
  const add = (gguf: string, canonical: string, heads = 0) => {
    const t = m.tensors.get(canonical);
    if (!t) return;
    let values = dequantize(t);
    if (heads) values = new Float32Array(permuteRows(new Uint8Array(values.buffer), t.shape[0], heads).buffer);
    out.push({ name: gguf, shape: t.shape, values });
  };
  add('token_embd.weight', tensorNames.embed);
  add('output_norm.weight', tensorNames.finalNorm);
  if (!c.tieWordEmbeddings) add('output.weight', tensorNames.lmHead);
  if (c.rope.scaling) out.push({ name: 'rope_freqs.weight', shape: [c.headDim / 2], values: llama3RopeDivisors(c.rope.scaling, c.rope.theta, c.headDim) });
  // llama.cpp's converter permutes q/k rows of Llama-style models only (Qwen2 keeps HF's order).
  const permuted = c.architecture !== 'qwen2';
  for (let i = 0; i < c.numLayers; i++) {
    const n = tensorNames.layer(i);
    for (const [gguf, key] of Object.entries(LAYER_NAMES)) {
      const heads = !permuted ? 0 : key === 'q' ? c.numHeads : key === 'k' ? c.numKvHeads : 0;
      add(`blk.${i}.${gguf}`, n[key], heads);
    }
  }
  return out;
}

function metadataOf(m: ModelDescription, preset: QuantPreset): GgufMetadataEntry[] {
  const c = m.config;
  const arch = c.architecture;
  const md: GgufMetadataEntry[] = [
    ['general.architecture', arch],
    ['general.quantization_version', 2],
    ['general.file_type', FILE_TYPES[preset]],
    [`${arch}.context_length`, c.maxPositionEmbeddings],
    [`${arch}.embedding_length`, c.hiddenSize],
    [`${arch}.block_count`, c.numLayers],
    [`${arch}.feed_forward_length`, c.intermediateSize],
    [`${arch}.attention.head_count`, c.numHeads],
    [`${arch}.attention.head_count_kv`, c.numKvHeads],
    [`${arch}.attention.key_length`, c.headDim],
    [`${arch}.attention.value_length`, c.headDim],
    [`${arch}.attention.layer_norm_rms_epsilon`, c.rmsNormEps, 'f32'],
    [`${arch}.rope.freq_base`, c.rope.theta, 'f32'],
    [`${arch}.rope.dimension_count`, c.headDim],
  ];
  if (c.slidingWindow !== null) md.push([`${arch}.attention.sliding_window`, c.slidingWindow]);
  if (c.bosTokenId !== null) md.push(['tokenizer.ggml.bos_token_id', c.bosTokenId]);
  if (c.eosTokenIds.length) md.push(['tokenizer.ggml.eos_token_id', c.eosTokenIds[0]]);
  return md;
}

/** `base` with `extra` added, an entry of `extra` replacing the one of `base` with its key. */
function replaced(base: GgufMetadataEntry[], extra: GgufMetadataEntry[]): GgufMetadataEntry[] {
  const keys = new Set(extra.map(([k]) => k));
  return [...base.filter(([k]) => !keys.has(k)), ...extra];
}

/**
 * `m` as a GGUF quantized with `preset`'s tensor types, self-contained as llama.cpp's converter writes
 * them: a tokenizer.json (or llama2.c) tokenizer goes into the `tokenizer.*` metadata with its chat template
 * (its special ids replace the config's). `metadata` is added (its keys replace ours).
 */
export function quantizedGguf(m: ModelDescription, preset: QuantPreset, o: { metadata?: GgufMetadataEntry[] } = {}): { bytes: Uint8Array; types: Map<string, DType> } {
  const types = new Map<string, DType>();
  const tensors: GgufTensorOut[] = ggufTensorsOf(m).map(({ name, shape, values }) => {
    const dtype = name === 'rope_freqs.weight' ? 'f32' : llamaCppTensorType(name, shape, preset, m.config.numLayers, m.config.tieWordEmbeddings);
    types.set(name, dtype);
    return { name, dtype, shape, data: quantize(dtype, values) };
  });
  const t = m.tokenizer;
  const tokenizer = t.kind === 'hf' ? tokenizerMetadata(t.tokenizerJson, t.tokenizerConfig) : t.kind === 'llama2c' ? llama2cTokenizerMetadata(t.bytes, t.vocabSize) : [];
  const metadata = replaced(replaced(metadataOf(m, preset), tokenizer), o.metadata ?? []);
  return { bytes: writeGguf(metadata, tensors), types };
}
