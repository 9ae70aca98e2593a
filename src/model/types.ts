/**
 * The one normalized model description every loader produces, whatever the file format.
 * Tensors use Hugging Face names and layout: a weight matrix is [out, in], row-major,
 * and q/k rows are in the rotate-half RoPE order unless `rope.layout` says 'interleaved'.
 */

/** Qwen2 is a Llama with biases on the q/k/v projections (see `hasQkvBias`). */
export type Architecture = 'llama' | 'mistral' | 'qwen2';

/** Whether the architecture adds a bias after the q, k and v projections. */
export function hasQkvBias(c: { architecture: Architecture }): boolean {
  return c.architecture === 'qwen2';
}

/**
 * Storage types. The q* are llama.cpp's blocks (src/model/block-formats.ts): 32 elements for
 * q8_0, q4_0, q4_1, q5_0, q5_1; 256-element super-blocks for the K-quants q4_k, q5_k, q6_k.
 */
export type DType = 'f32' | 'f16' | 'bf16' | 'q8_0' | 'q4_0' | 'q4_1' | 'q5_0' | 'q5_1' | 'q4_k' | 'q5_k' | 'q6_k';

export interface Llama3RopeScaling {
  type: 'llama3';
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositionEmbeddings: number;
}

export interface RopeConfig {
  theta: number;
  /** 'half': HF rotate-half (pairs i, i+d/2); 'interleaved': llama2.c / Meta pairs (2i, 2i+1). */
  layout: 'half' | 'interleaved';
  scaling: Llama3RopeScaling | null;
}

export interface ModelConfig {
  architecture: Architecture;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  vocabSize: number;
  /** Training context; generation may run past it. */
  maxPositionEmbeddings: number;
  rmsNormEps: number;
  rope: RopeConfig;
  /** Mistral: each query attends to at most this many most recent keys (itself included). */
  slidingWindow: number | null;
  tieWordEmbeddings: boolean;
  bosTokenId: number | null;
  eosTokenIds: number[];
}

export interface Tensor {
  name: string;
  dtype: DType;
  /** Logical shape, outermost first (matrices are [rows=out, cols=in]). */
  shape: number[];
  /** Raw bytes in `dtype`'s layout; a view into the loaded file, never a copy when avoidable. */
  data: Uint8Array;
}

export type TokenizerSource =
  | { kind: 'hf'; tokenizerJson: unknown; tokenizerConfig: Record<string, unknown> | null }
  | { kind: 'llama2c'; bytes: Uint8Array; vocabSize: number }
  | { kind: 'none' };

export type ModelFormat = 'safetensors' | 'gguf' | 'llama2c';

export interface ModelDescription {
  format: ModelFormat;
  config: ModelConfig;
  /** Canonical names, see `tensorNames`. With tied embeddings both names map to the same Tensor. */
  tensors: Map<string, Tensor>;
  tokenizer: TokenizerSource;
  /** generation_config.json or equivalent, when the source has one. */
  generationConfig: Record<string, unknown> | null;
}

/** Canonical (Hugging Face) tensor names. */
export const tensorNames = {
  embed: 'model.embed_tokens.weight',
  finalNorm: 'model.norm.weight',
  lmHead: 'lm_head.weight',
  layer: (i: number) => ({
    attnNorm: `model.layers.${i}.input_layernorm.weight`,
    q: `model.layers.${i}.self_attn.q_proj.weight`,
    k: `model.layers.${i}.self_attn.k_proj.weight`,
    v: `model.layers.${i}.self_attn.v_proj.weight`,
    qBias: `model.layers.${i}.self_attn.q_proj.bias`,
    kBias: `model.layers.${i}.self_attn.k_proj.bias`,
    vBias: `model.layers.${i}.self_attn.v_proj.bias`,
    o: `model.layers.${i}.self_attn.o_proj.weight`,
    mlpNorm: `model.layers.${i}.post_attention_layernorm.weight`,
    gate: `model.layers.${i}.mlp.gate_proj.weight`,
    up: `model.layers.${i}.mlp.up_proj.weight`,
    down: `model.layers.${i}.mlp.down_proj.weight`,
  }),
} as const;

/** Progress of a load, in bytes over all files. */
export interface LoadProgress {
  file: string;
  loaded: number;
  total: number;
}
export type ProgressCallback = (p: LoadProgress) => void;
