/**
 * Models at real shapes with synthetic weights, in the dtypes and layouts real files have. Speed
 * does not depend on the values, so a small random block is tiled (generating billions of random
 * numbers would dominate the benchmark).
 */
import { tensorByteSize } from '../src/model/dtypes';
import { quantize } from '../src/model/quantize';
import { expectedShapes } from '../src/model/check-tensors';
import type { DType, ModelConfig, ModelDescription, Tensor } from '../src/model/types';
import { ggufTensorName } from '../src/model/gguf';
import { llamaCppTensorType, type QuantPreset } from '../src/model/gguf-quantize';
import { randomFloats } from '../test/cases/random';

export const SHAPES: Record<string, Omit<ModelConfig, 'eosTokenIds' | 'bosTokenId' | 'slidingWindow' | 'tieWordEmbeddings' | 'architecture'> & { tied: boolean }> = {
  'SmolLM2-135M': { hiddenSize: 576, intermediateSize: 1536, numLayers: 30, numHeads: 9, numKvHeads: 3, headDim: 64, vocabSize: 49152, maxPositionEmbeddings: 8192, rmsNormEps: 1e-5, rope: { theta: 100000, layout: 'half', scaling: null }, tied: true },
  'Llama-3.2-1B': {
    hiddenSize: 2048, intermediateSize: 8192, numLayers: 16, numHeads: 32, numKvHeads: 8, headDim: 64, vocabSize: 128256, maxPositionEmbeddings: 131072, rmsNormEps: 1e-5,
    rope: { theta: 500000, layout: 'half', scaling: { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 } }, tied: true,
  },
};

const BLOCK = 1 << 16;

function tiled(dtype: DType, shape: number[]): Uint8Array {
  const out = new Uint8Array(tensorByteSize(dtype, shape));
  const f = randomFloats(BLOCK, shape.length * 7 + shape[0], 0.05);
  const block = quantize(dtype, f);
  for (let o = 0; o < out.length; o += block.length) out.set(block.subarray(0, Math.min(block.length, out.length - o)), o);
  return out;
}

const PRESETS: readonly string[] = ['Q4_K_M', 'Q5_K_M', 'Q6_K', 'Q8_0'] satisfies QuantPreset[];

/** `dtype`: one storage type for every matrix, or a llama-quantize preset's mix (K-quants and their fallbacks). */
export function syntheticModel(name: keyof typeof SHAPES, dtype: DType | QuantPreset): ModelDescription {
  const { tied, ...s } = SHAPES[name];
  const config: ModelConfig = { ...s, architecture: 'llama', slidingWindow: null, tieWordEmbeddings: tied, bosTokenId: 1, eosTokenIds: [2] };
  const tensors = new Map<string, Tensor>();
  for (const [tensorName, shape] of expectedShapes(config)) {
    if (tied && tensorName === 'lm_head.weight') continue;
    // Norm vectors stay f32, as in GGUF files.
    const dt: DType = shape.length === 1 ? 'f32' : PRESETS.includes(dtype) ? llamaCppTensorType(ggufTensorName(tensorName)!, shape, dtype as QuantPreset, config.numLayers, tied) : (dtype as DType);
    tensors.set(tensorName, { name: tensorName, dtype: dt, shape, data: shape.length === 1 ? new Uint8Array(Float32Array.from({ length: shape[0] }, () => 1).buffer) : tiled(dt, shape) });
  }
  if (tied) tensors.set('lm_head.weight', tensors.get('model.embed_tokens.weight')!);
  return { format: 'gguf', config, tensors, tokenizer: { kind: 'none' }, generationConfig: null };
}
