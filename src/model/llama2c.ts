/** llama2.c checkpoints: the legacy 28-byte header followed by float32 weights, and tokenizer.bin. */
import { ModelFormatError } from '../errors';
import { tensorNames, type ModelDescription, type Tensor, type TokenizerSource } from './types';

export function parseLlama2c(file: Uint8Array, tokenizer: TokenizerSource, fileName = 'model.bin'): ModelDescription {
  if (file.byteLength < 28) throw new ModelFormatError('truncated', `header needs 28 bytes, file has ${file.byteLength}`, fileName);
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const [dim, hidden, nLayers, nHeads, nKvHeads, rawVocab, seqLen] = Array.from({ length: 7 }, (_, i) => dv.getInt32(i * 4, true));
  const shared = rawVocab > 0;
  const vocab = Math.abs(rawVocab);
  if ([dim, hidden, nLayers, nHeads, nKvHeads, vocab, seqLen].some((x) => x <= 0) || dim % nHeads || nHeads % nKvHeads || (dim / nHeads) % 2)
    throw new ModelFormatError('bad-header', `implausible header dim=${dim} hidden=${hidden} layers=${nLayers} heads=${nHeads} kv_heads=${nKvHeads} vocab=${rawVocab} seq_len=${seqLen}`, fileName);
  const headDim = dim / nHeads;
  const kvDim = nKvHeads * headDim;
  const L = nLayers;

  // Element counts in file order; the two RoPE tables are skipped.
  const layout: [string, number[]][] = [
    ['embed', [vocab, dim]],
    ['attnNorm', [L, dim]],
    ['q', [L, dim, dim]],
    ['k', [L, kvDim, dim]],
    ['v', [L, kvDim, dim]],
    ['o', [L, dim, dim]],
    ['mlpNorm', [L, dim]],
    ['gate', [L, hidden, dim]],
    ['down', [L, dim, hidden]],
    ['up', [L, hidden, dim]],
    ['finalNorm', [dim]],
    ['ropeTables', [seqLen, headDim]],
  ];
  if (!shared) layout.push(['lmHead', [vocab, dim]]);
  const expected = 28 + layout.reduce((s, [, shape]) => s + shape.reduce((a, b) => a * b, 1) * 4, 0);
  if (file.byteLength < expected) throw new ModelFormatError('truncated', `expected ${expected} bytes for this header, file has ${file.byteLength}`, fileName);

  const tensors = new Map<string, Tensor>();
  const add = (name: string, shape: number[], offset: number) => {
    const bytes = shape.reduce((a, b) => a * b, 1) * 4;
    tensors.set(name, { name, dtype: 'f32', shape, data: file.subarray(offset, offset + bytes) });
  };
  let offset = 28;
  for (const [key, shape] of layout) {
    const perLayer = shape.length > 1 && shape[0] === L && key !== 'embed' && key !== 'ropeTables' && key !== 'lmHead';
    const inner = perLayer ? shape.slice(1) : shape;
    const innerBytes = inner.reduce((a, b) => a * b, 1) * 4;
    if (perLayer) {
      for (let l = 0; l < L; l++) add(tensorNames.layer(l)[key as keyof ReturnType<typeof tensorNames.layer>], inner, offset + l * innerBytes);
      offset += L * innerBytes;
    } else {
      if (key === 'embed') add(tensorNames.embed, inner, offset);
      else if (key === 'finalNorm') add(tensorNames.finalNorm, inner, offset);
      else if (key === 'lmHead') add(tensorNames.lmHead, inner, offset);
      offset += innerBytes;
    }
  }
  if (shared) tensors.set(tensorNames.lmHead, tensors.get(tensorNames.embed)!);

  return {
    format: 'llama2c',
    config: {
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
      bosTokenId: 1,
      eosTokenIds: [2],
    },
    tensors,
    tokenizer,
    generationConfig: null,
  };
}
