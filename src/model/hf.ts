/** A Hugging Face model folder: config.json, safetensors (single or sharded), tokenizer files. */
import { ModelFormatError, UnsupportedModelError } from '../errors';
import { parseSafetensors } from './safetensors';
import { checkTensors } from './check-tensors';
import { checkConfig, type ConfigKeys } from './check-config';
import { readFiles, type FileSource } from './sources';
import { tensorNames, type Architecture, type Llama3RopeScaling, type ModelConfig, type ModelDescription, type ProgressCallback, type Tensor, type TokenizerSource } from './types';

const ARCHITECTURES: Record<string, Architecture> = { LlamaForCausalLM: 'llama', MistralForCausalLM: 'mistral', Qwen2ForCausalLM: 'qwen2' };
const MODEL_TYPES: Record<string, Architecture> = { llama: 'llama', mistral: 'mistral', qwen2: 'qwen2' };

type Json = Record<string, unknown>;

function badConfig(message: string): ModelFormatError {
  return new ModelFormatError('bad-config', message, 'config.json');
}

/** config.json (plus generation_config.json for the stop tokens) -> ModelConfig. */
export function parseHfConfig(cfg: Json, generationConfig: Json | null): ModelConfig {
  const archs = cfg.architectures;
  const archName = Array.isArray(archs) && archs.length ? String(archs[0]) : `model_type ${String(cfg.model_type)}`;
  const architecture = Array.isArray(archs) && archs.length ? ARCHITECTURES[archName] : MODEL_TYPES[String(cfg.model_type)];
  if (!architecture) throw new UnsupportedModelError(`architecture ${archName} is not supported (${Object.keys(ARCHITECTURES).join(', ')} are)`);
  // Features of the Llama family we do not run; ignoring them would silently give wrong outputs.
  if (cfg.hidden_act !== undefined && cfg.hidden_act !== 'silu') throw new UnsupportedModelError(`hidden_act ${String(cfg.hidden_act)} is not supported (silu is)`);
  // Qwen2's q/k/v biases are its own (hasQkvBias); Llama's attention_bias also puts one on o_proj.
  if (cfg.attention_bias === true || cfg.mlp_bias === true) throw new UnsupportedModelError('attention or MLP biases are not supported');
  // Qwen2 with use_sliding_window windows only the layers from max_window_layers on: not run here.
  if (architecture === 'qwen2' && cfg.use_sliding_window === true) throw new UnsupportedModelError('use_sliding_window (windowed attention on some layers) is not supported');

  // Types here; ranges (positive counts, finite floats, ids in the vocabulary) in checkConfig.
  const num = (key: string, fallback: number | null = null): number => {
    const v = cfg[key] ?? fallback;
    if (typeof v !== 'number') throw badConfig(`${key} must be a number, got ${JSON.stringify(v)}`);
    return v;
  };
  const hiddenSize = num('hidden_size');
  const numHeads = num('num_attention_heads');
  const ids = (key: string, v: unknown): number[] => {
    if (v == null) return [];
    const list = Array.isArray(v) ? v : [v];
    if (!list.every((x) => typeof x === 'number')) throw badConfig(`${key} must be a token id or a list of them, got ${JSON.stringify(v)}`);
    return list;
  };
  const bos = cfg.bos_token_id ?? generationConfig?.bos_token_id;
  const config: ModelConfig = {
    architecture,
    hiddenSize,
    intermediateSize: num('intermediate_size'),
    numLayers: num('num_hidden_layers'),
    numHeads,
    numKvHeads: num('num_key_value_heads', numHeads),
    headDim: num('head_dim', hiddenSize / numHeads),
    vocabSize: num('vocab_size'),
    // Transformers' LlamaConfig defaults.
    maxPositionEmbeddings: num('max_position_embeddings', 2048),
    rmsNormEps: num('rms_norm_eps', 1e-6),
    rope: { theta: num('rope_theta', 10000), layout: 'half', scaling: ropeScaling(cfg.rope_scaling) },
    slidingWindow: architecture === 'mistral' && cfg.sliding_window != null ? num('sliding_window') : null,
    tieWordEmbeddings: cfg.tie_word_embeddings === true,
    bosTokenId: bos == null ? null : num(cfg.bos_token_id == null ? 'generation_config bos_token_id' : 'bos_token_id', bos as number),
    // Both files may list stop tokens (Llama-3 Instruct lists more in generation_config.json).
    eosTokenIds: [...new Set([...ids('eos_token_id', cfg.eos_token_id), ...ids('generation_config eos_token_id', generationConfig?.eos_token_id)])],
  };
  checkConfig(config, 'config.json', HF_KEYS);
  return config;
}

const HF_KEYS: ConfigKeys = {
  hiddenSize: 'hidden_size', intermediateSize: 'intermediate_size', numLayers: 'num_hidden_layers', numHeads: 'num_attention_heads',
  numKvHeads: 'num_key_value_heads', headDim: 'head_dim', vocabSize: 'vocab_size', maxPositionEmbeddings: 'max_position_embeddings',
  rmsNormEps: 'rms_norm_eps', 'rope.theta': 'rope_theta', 'rope.scaling': 'rope_scaling', slidingWindow: 'sliding_window',
  bosTokenId: 'bos_token_id', eosTokenIds: 'eos_token_id',
};

function ropeScaling(rs: unknown): Llama3RopeScaling | null {
  if (rs == null) return null;
  const r = rs as Json;
  const type = r.rope_type ?? r.type;
  if (type === 'default') return null;
  if (type !== 'llama3') throw new UnsupportedModelError(`rope_scaling type ${String(type)} is not supported (llama3 is)`);
  const num = (key: string) => {
    if (typeof r[key] !== 'number' || !(Number.isFinite(r[key]) && r[key] > 0)) throw badConfig(`rope_scaling.${key} must be a finite number above 0, got ${JSON.stringify(r[key])}`);
    return r[key];
  };
  return {
    type: 'llama3',
    factor: num('factor'),
    lowFreqFactor: num('low_freq_factor'),
    highFreqFactor: num('high_freq_factor'),
    originalMaxPositionEmbeddings: num('original_max_position_embeddings'),
  };
}

function parseJson(bytes: Uint8Array, file: string): Json {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    // The position only: the parser's message quotes the file's bytes.
    const at = /position (\d+)/.exec((e as Error).message);
    throw new ModelFormatError('bad-config', `not valid JSON${at ? ` (at byte ${at[1]})` : ''}`, file);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ModelFormatError('bad-config', 'not a JSON object', file);
  return json as Json;
}

/** A JSON file of the folder, or null when an optional one is absent. */
async function readJson(source: FileSource, file: string, required: boolean, signal?: AbortSignal): Promise<Json | null> {
  try {
    return parseJson(await source.read(file, { signal }), file);
  } catch (e) {
    if (!required && e instanceof ModelFormatError && e.problem === 'missing-file') return null;
    throw e;
  }
}

/** generation_config.json when the folder has one (sampling defaults and stop ids); GGUF folders use it too. */
export function readGenerationConfig(source: FileSource, signal?: AbortSignal): Promise<Json | null> {
  return readJson(source, 'generation_config.json', false, signal);
}

/** tokenizer.json (+ tokenizer_config.json) when the folder has one; GGUF folders use it too. */
export async function readHfTokenizer(source: FileSource, signal?: AbortSignal, tokenizerJson?: Json): Promise<TokenizerSource> {
  const json = tokenizerJson ?? (await readJson(source, 'tokenizer.json', false, signal));
  if (!json) return { kind: 'none' };
  return { kind: 'hf', tokenizerJson: json, tokenizerConfig: await readJson(source, 'tokenizer_config.json', false, signal) };
}

export async function loadHf(source: FileSource, opts: { onProgress?: ProgressCallback; signal?: AbortSignal } = {}): Promise<ModelDescription> {
  const { signal } = opts;
  const config = (await readJson(source, 'config.json', true, signal))!;
  const generationConfig = await readGenerationConfig(source, signal);
  const cfg = parseHfConfig(config, generationConfig);

  // A URL folder cannot list: there the index of a sharded checkpoint is asked for only when there is
  // no model.safetensors (the request for an absent index is a 404 the browser logs as an error).
  const names = await source.list();
  const sharded = names.length ? names.includes('model.safetensors.index.json') : (await source.size('model.safetensors')) === null;
  const index = sharded ? await readJson(source, 'model.safetensors.index.json', false, signal) : null;
  const weightMap = index?.weight_map;
  if (index && (typeof weightMap !== 'object' || weightMap === null))
    throw new ModelFormatError('bad-header', 'weight_map is missing', 'model.safetensors.index.json');
  const files = weightMap ? [...new Set(Object.values(weightMap))] : ['model.safetensors'];
  // Shards are files of this folder: a path could read (and an error message show) any file.
  for (const f of files)
    if (typeof f !== 'string' || !/^[^/\\]+\.safetensors$/.test(f) || f.includes('\0'))
      throw new ModelFormatError('bad-header', `weight_map must name .safetensors files of the model folder, got ${JSON.stringify(f).slice(0, 80)}`, 'model.safetensors.index.json');
  // tokenizer.json can be as large as a small model's weights: it counts in the progress too.
  const hasTokenizer = (await source.size('tokenizer.json')) !== null;
  const bytes = await readFiles(source, hasTokenizer ? [...files, 'tokenizer.json'] : files, opts);

  const tensors = new Map<string, Tensor>();
  files.forEach((file, i) => {
    for (const [name, t] of parseSafetensors(bytes[i], file)) tensors.set(name, t);
  });
  // Tied embeddings: files may store one name only (the shared TinyStories-656K stores only
  // lm_head.weight); when the config ties them, one Tensor serves both names.
  const embed = tensors.get(tensorNames.embed);
  const head = tensors.get(tensorNames.lmHead);
  // Untied by the config but no head in the files: tying would run another model than the config's.
  if (embed && !head && config.tie_word_embeddings === false)
    throw new ModelFormatError('missing-tensor', `tie_word_embeddings is false but ${tensorNames.lmHead} is missing (the LM head is not the embedding)`, files.length > 1 ? 'model.safetensors.index.json' : files[0]);
  if (embed && (!head || cfg.tieWordEmbeddings)) tensors.set(tensorNames.lmHead, embed);
  else if (head && !embed && config.tie_word_embeddings !== false) tensors.set(tensorNames.embed, head);
  cfg.tieWordEmbeddings = tensors.get(tensorNames.embed) === tensors.get(tensorNames.lmHead) && tensors.has(tensorNames.embed);
  checkTensors(cfg, tensors);

  return {
    format: 'safetensors',
    config: cfg,
    tensors,
    tokenizer: hasTokenizer ? await readHfTokenizer(source, signal, parseJson(bytes.at(-1)!, 'tokenizer.json')) : { kind: 'none' },
    generationConfig,
  };
}
