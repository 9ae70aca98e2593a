/**
 * A synthetic model at real shapes (bench/synthetic.ts) as a GGUF file that both llama.cpp and our
 * loader read, so the peer comparison runs the same file on both: llama tensor names, q/k rows in
 * llama.cpp's order, Llama-3's rope_freqs, and a placeholder SentencePiece vocabulary (llama.cpp
 * builds one at load; the benchmark feeds token ids, so only its size and special ids matter).
 */
import { writeFileSync } from 'node:fs';
import { permuteRows, writeGguf, type GgufMetadataEntry, type GgufTensorOut } from '../src/model/gguf-writer';
import { ggufTensorName, llama3RopeDivisors } from '../src/model/gguf';
import { tensorNames, type DType } from '../src/model/types';
import type { QuantPreset } from '../src/model/gguf-quantize';
import { syntheticModel, type SHAPES } from './synthetic';

/** SentencePiece-style: <unk>, <s>, </s>, the 256 byte tokens llama.cpp looks up, then placeholders. */
export function vocabulary(size: number): GgufMetadataEntry[] {
  const tokens = ['<unk>', '<s>', '</s>', ...Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`)];
  for (let i = tokens.length; i < size; i++) tokens.push(`▁t${i}`);
  const types = tokens.map((_, i) => (i === 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1)); // unknown, control, byte, normal
  return [
    ['tokenizer.ggml.model', 'llama'],
    ['tokenizer.ggml.tokens', tokens],
    ['tokenizer.ggml.scores', tokens.map(() => 0), 'f32'],
    ['tokenizer.ggml.token_type', types, 'i32'],
    ['tokenizer.ggml.unknown_token_id', 0],
    ['tokenizer.ggml.bos_token_id', 1],
    ['tokenizer.ggml.eos_token_id', 2],
  ];
}

/** Writes `name` in `dtype` (or a llama-quantize preset's mix) to `path` (norms stay f32, as in real files). */
export function writeSyntheticGguf(name: keyof typeof SHAPES, dtype: DType | QuantPreset, path: string): void {
  const m = syntheticModel(name, dtype);
  const c = m.config;
  const tensors: GgufTensorOut[] = [];
  for (const [canon, t] of m.tensors) {
    // Tied: llama.cpp reuses token_embd.
    if (canon === tensorNames.lmHead && c.tieWordEmbeddings) continue;
    const gguf = ggufTensorName(canon);
    if (!gguf) throw new Error(`no GGUF name for ${canon}`);
    const heads = gguf.endsWith('attn_q.weight') ? c.numHeads : gguf.endsWith('attn_k.weight') ? c.numKvHeads : 0;
    tensors.push({ name: gguf, dtype: t.dtype, shape: t.shape, data: heads ? permuteRows(t.data, t.shape[0], heads) : t.data });
  }
  const scaling = c.rope.scaling;
  if (scaling) {
    const divisors = llama3RopeDivisors(scaling, c.rope.theta, c.headDim);
    tensors.push({ name: 'rope_freqs.weight', dtype: 'f32', shape: [divisors.length], data: new Uint8Array(divisors.buffer) });
  }
  const metadata: GgufMetadataEntry[] = [
    ['general.architecture', 'llama'],
    ['general.name', `${name} (synthetic weights)`],
    ['llama.context_length', c.maxPositionEmbeddings],
    ['llama.embedding_length', c.hiddenSize],
    ['llama.block_count', c.numLayers],
    ['llama.feed_forward_length', c.intermediateSize],
    ['llama.attention.head_count', c.numHeads],
    ['llama.attention.head_count_kv', c.numKvHeads],
    ['llama.attention.layer_norm_rms_epsilon', c.rmsNormEps, 'f32'],
    ['llama.rope.freq_base', c.rope.theta, 'f32'],
    ['llama.rope.dimension_count', c.headDim],
    ['llama.vocab_size', c.vocabSize],
    ...vocabulary(c.vocabSize),
  ];
  writeFileSync(path, writeGguf(metadata, tensors));
}
