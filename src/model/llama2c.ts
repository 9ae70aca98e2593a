/** llama2.c checkpoints: the legacy 28-byte header followed by float32 weights, and tokenizer.bin. */
import { ModelFormatError, UnsupportedModelError } from '../errors';
import { checkConfig } from './check-config';
import { checkTensors } from './check-tensors';
import { tensorNames, type ModelConfig, type ModelDescription, type Tensor, type TokenizerSource } from './types';

const HEADER_BYTES = 28;

/**
 * tokenizer.bin's pieces (raw bytes) and scores: int32 max_token_length, then per token float32
 * score, int32 length, bytes. The file does not store its size: `vocabSize` is the checkpoint's.
 */
export function readLlama2cVocab(bytes: Uint8Array, vocabSize: number): { pieces: Uint8Array[]; scores: Float32Array } {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bad = (msg: string) => new ModelFormatError('truncated', msg, 'tokenizer.bin');
  if (bytes.byteLength < 4) throw bad('no header');
  const pieces: Uint8Array[] = [];
  const scores = new Float32Array(vocabSize);
  let off = 4;
  for (let i = 0; i < vocabSize; i++) {
    if (off + 8 > bytes.byteLength) throw bad(`ends at token ${i} of ${vocabSize}`);
    scores[i] = dv.getFloat32(off, true);
    const len = dv.getInt32(off + 4, true);
    off += 8;
    if (len < 0 || off + len > bytes.byteLength) throw bad(`ends inside token ${i}`);
    pieces.push(bytes.subarray(off, off + len));
    off += len;
  }
  return { pieces, scores };
}

/**
 * `tokenizer` is passed through; a llama2.c tokenizer gets the header's vocab size (its file does
 * not store one). Every tensor is a view into `file`.
 */
export function parseLlama2c(file: Uint8Array, tokenizer: TokenizerSource, fileName = 'model.bin'): ModelDescription {
  if (file.byteLength < HEADER_BYTES) throw new ModelFormatError('truncated', `the header needs ${HEADER_BYTES} bytes, the file has ${file.byteLength}`, fileName);
  // llama2.c's later exports (export.py --version 1/2) start with the magic "ak42" and another layout.
  if (new TextDecoder().decode(file.subarray(0, 4)) === 'ak42') throw new UnsupportedModelError(`${fileName}: llama2.c versioned exports ("ak42") are not supported, only the legacy format`);
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const [dim, hidden, L, nHeads, nKvHeads, rawVocab, seqLen] = Array.from({ length: 7 }, (_, i) => dv.getInt32(i * 4, true));
  const shared = rawVocab > 0;
  const vocab = Math.abs(rawVocab);
  if ([dim, hidden, L, nHeads, nKvHeads, vocab, seqLen].some((x) => x <= 0) || dim % nHeads || nHeads % nKvHeads || (dim / nHeads) % 2)
    throw new ModelFormatError('bad-header', `implausible header dim=${dim} hidden=${hidden} layers=${L} heads=${nHeads} kv_heads=${nKvHeads} vocab=${rawVocab} seq_len=${seqLen}`, fileName);
  const headDim = dim / nHeads;
  const kvDim = nKvHeads * headDim;

  // File order. Per-layer blocks hold all L layers back to back; the RoPE tables are skipped.
  type LayerKey = keyof ReturnType<typeof tensorNames.layer>;
  const sections: [name: LayerKey | 'embed' | 'finalNorm' | 'lmHead' | 'ropeTables', shape: number[], perLayer: boolean][] = [
    ['embed', [vocab, dim], false],
    ['attnNorm', [dim], true],
    ['q', [dim, dim], true],
    ['k', [kvDim, dim], true],
    ['v', [kvDim, dim], true],
    ['o', [dim, dim], true],
    ['mlpNorm', [dim], true],
    ['gate', [hidden, dim], true], // w1
    ['down', [dim, hidden], true], // w2
    ['up', [hidden, dim], true], // w3
    ['finalNorm', [dim], false],
    ['ropeTables', [2, seqLen * (headDim / 2)], false], // freq_cis_real, freq_cis_imag
  ];
  if (!shared) sections.push(['lmHead', [vocab, dim], false]);
  const bytesOf = (shape: number[]) => shape.reduce((a, b) => a * b, 4);
  const expected = sections.reduce((s, [, shape, perLayer]) => s + bytesOf(shape) * (perLayer ? L : 1), HEADER_BYTES);
  // Exactly: the format has no tensor table, so a corrupt header that still fits the file would
  // read every weight from the wrong place.
  if (file.byteLength !== expected)
    throw new ModelFormatError(file.byteLength < expected ? 'truncated' : 'size-mismatch', `expected ${expected} bytes for this header, the file has ${file.byteLength}`, fileName);

  const tensors = new Map<string, Tensor>();
  let offset = HEADER_BYTES;
  const take = (name: string, shape: number[]) => {
    tensors.set(name, { name, dtype: 'f32', shape, data: file.subarray(offset, offset + bytesOf(shape)) });
    offset += bytesOf(shape);
  };
  for (const [key, shape, perLayer] of sections) {
    if (perLayer) for (let l = 0; l < L; l++) take(tensorNames.layer(l)[key as LayerKey], shape);
    else if (key === 'ropeTables') offset += bytesOf(shape);
    else take(tensorNames[key as 'embed' | 'finalNorm' | 'lmHead'], shape);
  }
  if (shared) tensors.set(tensorNames.lmHead, tensors.get(tensorNames.embed)!);

  const config: ModelConfig = {
    architecture: 'llama',
    hiddenSize: dim,
    intermediateSize: hidden,
    numLayers: L,
    numHeads: nHeads,
    numKvHeads: nKvHeads,
    headDim,
    vocabSize: vocab,
    maxPositionEmbeddings: seqLen,
    rmsNormEps: 1e-5,
    rope: { theta: 10000, layout: 'interleaved', scaling: null },
    slidingWindow: null,
    tieWordEmbeddings: shared,
    // Token 1 (BOS) also ends a story in llama2.c's sampler; callers decide whether to stop on it.
    bosTokenId: 1,
    eosTokenIds: [2],
  };
  checkConfig(config, fileName);
  checkTensors(config, tensors, fileName);
  return {
    format: 'llama2c',
    config,
    tensors,
    tokenizer: tokenizer.kind === 'llama2c' ? { ...tokenizer, vocabSize: vocab } : tokenizer,
    generationConfig: null,
  };
}
