/** A Hugging Face model folder: config.json, safetensors (single or sharded), tokenizer files. */
import { ModelFormatError, UnsupportedModelError } from '../errors';
import { parseSafetensors } from './safetensors';
import { checkTensors } from './check-tensors';
import type { FileSource } from './sources';
import type { Architecture, Llama3RopeScaling, ModelConfig, ModelDescription, ProgressCallback, Tensor } from './types';
import { tensorNames } from './types';

const ARCHITECTURES: Record<string, Architecture> = { LlamaForCausalLM: 'llama', MistralForCausalLM: 'mistral' };

type Json = Record<string, unknown>;

export function parseHfConfig(cfg: Json, generationConfig: Json | null): ModelConfig {
  const archName = (cfg.architectures as string[] | undefined)?.[0] ?? String(cfg.model_type ?? 'unknown');
  const architecture = ARCHITECTURES[archName] ?? (cfg.model_type === 'llama' ? 'llama' : cfg.model_type === 'mistral' ? 'mistral' : undefined);
  if (!architecture) throw new UnsupportedModelError(`architecture ${archName} is not supported (Llama and Mistral are)`);
  const int = (key: string, fallback?: number): number => {
    const v = cfg[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw new ModelFormatError('bad-config', `config.json: ${key} must be a positive integer, got ${JSON.stringify(v)}`, 'config.json');
    return v;
  };
  const hiddenSize = int('hidden_size');
  const numHeads = int('num_attention_heads');
  const numKvHeads = int('num_key_value_heads', numHeads);
  const headDim = int('head_dim', hiddenSize / numHeads);
  if (numHeads % numKvHeads) throw new ModelFormatError('bad-config', `num_attention_heads ${numHeads} is not a multiple of num_key_value_heads ${numKvHeads}`, 'config.json');

  let scaling: Llama3RopeScaling | null = null;
  const rs = cfg.rope_scaling as Json | null | undefined;
  if (rs) {
    const type = rs.rope_type ?? rs.type;
    if (type === 'default') scaling = null;
    else if (type !== 'llama3') throw new UnsupportedModelError(`rope_scaling type ${String(type)} is not supported (llama3 is)`);
    else
      scaling = {
        type: 'llama3',
        factor: Number(rs.factor),
        lowFreqFactor: Number(rs.low_freq_factor),
        highFreqFactor: Number(rs.high_freq_factor),
        originalMaxPositionEmbeddings: Number(rs.original_max_position_embeddings),
      };
  }
  const ids = (v: unknown): number[] => (Array.isArray(v) ? v.map(Number) : typeof v === 'number' ? [v] : []);
  const eos = ids(generationConfig?.eos_token_id ?? cfg.eos_token_id);
  return {
    architecture,
    hiddenSize,
    intermediateSize: int('intermediate_size'),
    numLayers: int('num_hidden_layers'),
    numHeads,
    numKvHeads,
    headDim,
    vocabSize: int('vocab_size'),
    maxPositionEmbeddings: int('max_position_embeddings', 2048),
    rmsNormEps: Number(cfg.rms_norm_eps ?? 1e-6),
    rope: { theta: Number(cfg.rope_theta ?? 10000), layout: 'half', scaling },
    slidingWindow: architecture === 'mistral' && typeof cfg.sliding_window === 'number' ? cfg.sliding_window : null,
    tieWordEmbeddings: cfg.tie_word_embeddings === true,
    bosTokenId: typeof cfg.bos_token_id === 'number' ? cfg.bos_token_id : null,
    eosTokenIds: [...new Set(eos)],
  };
}

async function readJson(source: FileSource, file: string, required: boolean): Promise<Json | null> {
  if (!required && (await source.size(file).catch(() => null)) === null && (await source.list()).length > 0) return null;
  try {
    const bytes = await source.read(file);
    try {
      return JSON.parse(new TextDecoder().decode(bytes)) as Json;
    } catch (e) {
      throw new ModelFormatError('bad-config', `not valid JSON (${(e as Error).message})`, file);
    }
  } catch (e) {
    if (!required && e instanceof ModelFormatError && e.problem === 'missing-file') return null;
    throw e;
  }
}

export async function loadHf(source: FileSource, opts: { onProgress?: ProgressCallback; signal?: AbortSignal } = {}): Promise<ModelDescription> {
  const config = (await readJson(source, 'config.json', true))!;
  const generationConfig = await readJson(source, 'generation_config.json', false);
  const cfg = parseHfConfig(config, generationConfig);

  const index = await readJson(source, 'model.safetensors.index.json', false);
  const files = index ? [...new Set(Object.values(index.weight_map as Record<string, string>))] : ['model.safetensors'];
  const sizes = await Promise.all(files.map((f) => source.size(f)));
  const total = sizes.reduce<number>((s, x) => s + (x ?? 0), 0);
  let done = 0;
  const tensors = new Map<string, Tensor>();
  for (const file of files) {
    const bytes = await source.read(file, {
      signal: opts.signal,
      onProgress: (loaded, t) => opts.onProgress?.({ file, loaded: done + loaded, total: Math.max(total, done + t) }),
    });
    done += bytes.byteLength;
    for (const [name, t] of parseSafetensors(bytes, file)) tensors.set(name, t);
  }

  // Tied embeddings: some files store only one of the two names.
  const embed = tensors.get(tensorNames.embed);
  const head = tensors.get(tensorNames.lmHead);
  if (!head && embed) {
    tensors.set(tensorNames.lmHead, embed);
    cfg.tieWordEmbeddings = true;
  } else if (head && !embed && (config.tie_word_embeddings ?? true)) {
    tensors.set(tensorNames.embed, head);
    cfg.tieWordEmbeddings = true;
  }
  checkTensors(cfg, tensors);

  const tokenizerJson = await readJson(source, 'tokenizer.json', false);
  const tokenizerConfig = await readJson(source, 'tokenizer_config.json', false);
  return {
    format: 'safetensors',
    config: cfg,
    tensors,
    tokenizer: tokenizerJson ? { kind: 'hf', tokenizerJson, tokenizerConfig } : { kind: 'none' },
    generationConfig,
  };
}
