/**
 * The embeddable engine: loads a model once, then streams generations (and, in chat-completions.ts,
 * OpenAI-style chat) with its KV policy keeping the cache within budget across turns. Generations
 * run one at a time, in call order.
 */
import { throwIfAborted } from '../errors';
import { loadModel, type LoadedModel, type LoadOptions, type ModelSpec } from '../model/load';
import type { ModelConfig } from '../model/types';
import { createTokenizer, type Tokenizer } from '../tokenizer';
import { resolvePolicy, type KvOptions } from '../kv/policy';
import type { KvMap, KvStats } from '../kv/stats';
import type { GpuContext } from '../gpu/device';
import type { Backend, BackendName } from '../backend/backend';
import type { KvDtype } from '../kv/dtype';
import { createBackend } from './create-backend';
import { checkEngineOptions, checkGenerateOptions, checkPolicyForModel, checkPrompt } from './arguments';
import type { SamplingOptions } from '../backend/sampling';
import { GenerationStream } from './stream';
import { Conversation, type GenerateOptions, type Generation } from './conversation';
import { ChatCompletions, type ChatCompletionsApi } from './chat-completions';
import { generationDefaults } from './generation-defaults';

/** The engine's options; the loading ones (progress, signal, tokenizerPath, cache, hub access) are LoadOptions'. */
export interface EngineOptions extends LoadOptions {
  /** A Hugging Face repo id, a URL, browser Files, a FileSource, or (Node) a path. */
  model: ModelSpec;
  /** Default 'webgpu'; 'cpu' is the float32 reference (slow, for checking). */
  backend?: BackendName;
  kv?: KvOptions;
  /**
   * Defaults for every generation (each call can override them), over the model's own from its
   * generation_config.json (see `engine.samplingDefaults`).
   */
  sampling?: SamplingOptions;
  /**
   * Ids per prefill chunk: under a compressing policy each chunk is compressed after, so a prompt of
   * any length runs in the budget plus one chunk. Infinity: the paper's one-shot prefill. Default 512.
   */
  prefillChunk?: number;
  /** Storage of K and V: 'f16' halves the memory; 'f32' (default) reproduces the references exactly. */
  kvDtype?: KvDtype;
  /** WebGPU: a device to share between engines (default: the engine gets its own). */
  gpu?: GpuContext;
}

export async function createEngine(o: EngineOptions): Promise<Engine> {
  checkEngineOptions(o);
  const policy = resolvePolicy(o.kv);
  const { onProgress, signal, tokenizerPath, cache, baseUrl, hfToken, hfEndpoint, revision } = o;
  const model = await loadModel(o.model, { onProgress, signal, tokenizerPath, cache, baseUrl, hfToken, hfEndpoint, revision });
  throwIfAborted(o.signal);
  const tokenizer = model.tokenizer.kind === 'none' ? null : createTokenizer(model.tokenizer, model.config.eosTokenIds, model.config.vocabSize);
  checkPolicyForModel(policy, model.config);
  const backend = await createBackend(model, o.backend ?? 'webgpu', { policy, prefillChunk: o.prefillChunk, kvDtype: o.kvDtype, gpu: o.gpu });
  return new Engine(modelName(o.model), model, tokenizer, backend, { ...generationDefaults(model.generationConfig), ...o.sampling });
}

/** What `model` fields report: the repo id, URL or path as given, else "local files". */
function modelName(spec: ModelSpec): string {
  return typeof spec === 'string' ? spec.replace(/\/+$/, '') : 'local files';
}

/** What the page uses, whether the engine runs in it (`createEngine`) or in a worker (`createWorkerEngine`). */
export interface EngineLike {
  /** The model as given (repo id, URL or path), or "local files". */
  readonly name: string;
  readonly config: ModelConfig;
  /** The model has a chat template (else chat messages are joined as plain text: story models). */
  readonly hasChatTemplate: boolean;
  /**
   * What a generation samples with when the call gives nothing: the model's generation_config.json
   * under the engine's `sampling` option (the runtime's own defaults fill the rest: temperature 1,
   * no top-k/top-p, penalty 1). The seed is fresh for each request unless one is given.
   */
  readonly samplingDefaults: SamplingOptions;
  readonly chat: { completions: ChatCompletionsApi };
  generate(prompt: string | readonly number[], o?: GenerateOptions): Generation;
  kvStats(): Promise<KvStats>;
  kvMap(): Promise<KvMap>;
  reset(): Promise<void>;
  dispose(): void;
}

export class Engine implements EngineLike {
  readonly chat: { completions: ChatCompletions };
  private readonly conversation: Conversation;

  constructor(
    readonly name: string,
    readonly model: LoadedModel,
    /** null for a model without a tokenizer: prompts are then token ids. */
    readonly tokenizer: Tokenizer | null,
    readonly backend: Backend,
    readonly samplingDefaults: SamplingOptions,
  ) {
    this.conversation = new Conversation(backend, tokenizer, model.config.eosTokenIds, samplingDefaults);
    this.chat = { completions: new ChatCompletions(this.conversation, name) };
  }

  get config() {
    return this.model.config;
  }

  get hasChatTemplate(): boolean {
    return this.tokenizer?.hasChatTemplate ?? false;
  }

  /** Tokens in the context now (the sequence length, compressed or not). */
  get contextLength(): number {
    return this.conversation.length;
  }

  /** Streams a generation from `prompt` (text, or token ids). */
  generate(prompt: string | readonly number[], o: GenerateOptions = {}): Generation {
    const c = this.conversation;
    return new GenerationStream(async (emit) => {
      // Checked at once, not in the queue: a bad call fails before anything is cleared or run.
      c.assertLive();
      checkPrompt(prompt, this.config.vocabSize);
      checkGenerateOptions(o);
      return c.exclusive(() => c.turn(prompt, o, emit));
    });
  }

  /**
   * KV statistics now (budgets, occupancy, evictions, merges, memory); a few small reads that run
   * between decode steps, so a page can poll them while a generation streams.
   */
  async kvStats(): Promise<KvStats> {
    this.conversation.assertLive();
    return this.backend.kvStats();
  }

  /** Per layer, the positions the cache keeps, those that absorbed merges, and (the rest) evicted. */
  async kvMap(): Promise<KvMap> {
    this.conversation.assertLive();
    return this.backend.kvMap();
  }

  /** Forgets the conversation (the weights stay on the GPU). */
  reset(): Promise<void> {
    const c = this.conversation;
    return c.exclusive(async () => c.clear());
  }

  /** Frees the weights and the cache; every later call fails with EngineDisposedError. */
  dispose(): void {
    if (this.conversation.isDisposed) return;
    // A step in flight finishes before its buffers are freed.
    void this.conversation.dispose().then(() => this.backend.dispose());
  }
}
