/**
 * The embeddable engine: loads a model once, then streams generations (and, in chat-completions.ts,
 * OpenAI-style chat) with its KV policy keeping the cache within budget across turns. Generations
 * run one at a time, in call order.
 */
import { ContextOverflowError, D2OError, throwIfAborted } from '../errors';
import { loadModel, type LoadedModel, type ModelSpec } from '../model/load';
import type { ModelConfig, ProgressCallback } from '../model/types';
import { createTokenizer, type Tokenizer } from '../tokenizer';
import { parseBudget, resolvePolicy, type Budget, type KvPolicyOptions, type PolicyName } from '../kv/policy';
import type { KvMap, KvStats } from '../kv/stats';
import type { GpuContext } from '../gpu/device';
import type { Backend, BackendName } from './backend';
import { createBackend } from './create-backend';
import { generateIds } from './generate';
import { resolveSampling, type SamplingOptions } from './sampling';
import { StopStrings } from './stop-strings';
import { GenerationStream } from './stream';
import { ChatCompletions, type ChatCompletionsApi } from './chat-completions';

export interface KvOptions extends Omit<KvPolicyOptions, 'policy' | 'budget'> {
  /** Default 'full'. */
  policy?: PolicyName;
  /** Tokens per layer on average (64 or "64"), or a fraction of the prompt ("20%"). */
  budget?: number | string | Budget;
}

export interface EngineOptions {
  /** A Hugging Face repo id, a URL, browser Files, a FileSource, or (Node) a path. */
  model: ModelSpec;
  /** Default 'webgpu'; 'cpu' is the float32 reference (slow, for checking). */
  backend?: BackendName;
  kv?: KvOptions;
  /** Defaults for every generation (each call can override them). */
  sampling?: SamplingOptions;
  /** Longest first prompt under a compressing policy (sizes the GPU cache). Default 512. */
  maxPromptTokens?: number;
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
  /** llama2.c: the tokenizer .bin when it is not found beside the model: a path (Node), a URL, or in a page a file name beside the model. */
  tokenizerPath?: string;
  /** Keep downloads in the browser's Cache API so a reload does not fetch again (default true; see clearModelCache). */
  cache?: boolean;
  /** Where relative model URLs resolve (default: the page's address). */
  baseUrl?: string;
  /** Hugging Face access token for gated or private repos (sent as a bearer token to hfEndpoint only). */
  hfToken?: string;
  /** Base URL for repo ids (default: the public hub): a mirror or a self-hosted copy laid out as the hub. */
  hfEndpoint?: string;
  /** Branch, tag or commit hash of a repo id (default 'main'). */
  revision?: string;
  /** WebGPU: a device to share between engines (default: the engine gets its own). */
  gpu?: GpuContext;
}

export interface GenerateOptions extends SamplingOptions {
  /** Default 256. */
  maxTokens?: number;
  /** Text that ends the generation (not included in the output). */
  stop?: string | readonly string[];
  /** End at the model's EOS tokens (default true). */
  stopAtEos?: boolean;
  signal?: AbortSignal;
  /**
   * Append the prompt to what the engine holds (a later turn on the compressed cache) instead of
   * starting over.
   */
  continue?: boolean;
}

export interface GenerationChunk {
  /** The token id and the text it adds (empty while a stop string or UTF-8 character is pending). */
  id: number;
  text: string;
  index: number;
}

export type FinishReason = 'stop' | 'length';

export interface GenerationStats {
  promptTokens: number;
  completionTokens: number;
  prefillSeconds: number;
  decodeSeconds: number;
  prefillTokensPerSecond: number;
  decodeTokensPerSecond: number;
  kv: KvStats;
}

export interface GenerationResult {
  /** Generated ids (a final EOS included). */
  ids: number[];
  text: string;
  finishReason: FinishReason;
  stats: GenerationStats;
}

export type Generation = GenerationStream<GenerationChunk, GenerationResult>;

/** Normalises the engine's KV options into the policy description backends take. */
export function kvPolicyOptions(kv: KvOptions = {}): KvPolicyOptions {
  const { policy = 'full', budget, ...rest } = kv;
  const b: Budget | undefined = budget === undefined ? undefined : typeof budget === 'object' ? budget : parseBudget(String(budget));
  const o = { ...rest, policy, budget: b };
  resolvePolicy(o); // throws RangeError on an impossible budget, before anything loads
  return o;
}

export async function createEngine(o: EngineOptions): Promise<Engine> {
  const kv = kvPolicyOptions(o.kv);
  const { onProgress, signal, tokenizerPath, cache, baseUrl, hfToken, hfEndpoint, revision } = o;
  const model = await loadModel(o.model, { onProgress, signal, tokenizerPath, cache, baseUrl, hfToken, hfEndpoint, revision });
  throwIfAborted(o.signal);
  const tokenizer = model.tokenizer.kind === 'none' ? null : createTokenizer(model.tokenizer, model.config.eosTokenIds, model.config.vocabSize);
  const backend = await createBackend(model, o.backend ?? 'webgpu', { kv, maxPromptTokens: o.maxPromptTokens, gpu: o.gpu });
  return new Engine(modelName(o.model), model, tokenizer, backend, o.sampling ?? {});
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
  readonly chat: { completions: ChatCompletionsApi };
  generate(prompt: string | readonly number[], o?: GenerateOptions): Generation;
  kvStats(): Promise<KvStats>;
  kvMap(): Promise<KvMap>;
  reset(): Promise<void>;
  dispose(): void;
}

export class Engine implements EngineLike {
  readonly chat: { completions: ChatCompletions };
  private queue: Promise<unknown> = Promise.resolve();
  /** The last sampled id when it is not in the context yet (generation ended on it). */
  private pending: number | null = null;

  constructor(
    readonly name: string,
    readonly model: LoadedModel,
    /** null for a model without a tokenizer: prompts are then token ids. */
    readonly tokenizer: Tokenizer | null,
    readonly backend: Backend,
    private readonly sampling: SamplingOptions,
  ) {
    this.chat = { completions: new ChatCompletions(this) };
  }

  get config() {
    return this.model.config;
  }

  get hasChatTemplate(): boolean {
    return this.tokenizer?.hasChatTemplate ?? false;
  }

  /** Tokens in the context now (the sequence length, compressed or not). */
  get contextLength(): number {
    return this.backend.context.length;
  }

  /** Streams a generation from `prompt` (text, or token ids). */
  generate(prompt: string | readonly number[], o: GenerateOptions = {}): Generation {
    return new GenerationStream((emit) => this.exclusive(() => this.run(prompt, o, emit)));
  }

  /**
   * KV statistics now (budgets, occupancy, evictions, merges, memory); a few small reads that run
   * between decode steps, so a page can poll them while a generation streams.
   */
  kvStats(): Promise<KvStats> {
    return this.backend.kvStats();
  }

  /** Per layer, the positions the cache keeps, those that absorbed merges, and (the rest) evicted. */
  kvMap(): Promise<KvMap> {
    return this.backend.kvMap();
  }

  /** Forgets the conversation (the weights stay on the GPU). */
  reset(): Promise<void> {
    return this.exclusive(async () => this.clear());
  }

  dispose(): void {
    this.backend.dispose();
  }

  /** Runs `f` after every earlier call has finished. */
  exclusive<T>(f: () => Promise<T>): Promise<T> {
    const next = this.queue.then(f, f);
    this.queue = next.catch(() => {});
    return next;
  }

  private clear(): void {
    this.backend.reset();
    this.pending = null;
  }

  /** Token ids for a prompt; BOS in front when it opens the context (and the text has none). */
  encode(prompt: string | readonly number[], opensContext: boolean, addBos = true): number[] {
    if (typeof prompt !== 'string') return [...prompt];
    if (!this.tokenizer) throw new D2OError('this model has no tokenizer: pass token ids');
    return this.tokenizer.encode(prompt, { addBos: opensContext && addBos });
  }

  /** The generation loop behind `generate` and chat completions; call inside `exclusive`. */
  async run(prompt: string | readonly number[], o: GenerateOptions, emit: (c: GenerationChunk) => void, addBos = true): Promise<GenerationResult> {
    throwIfAborted(o.signal);
    const b = this.backend;
    const fresh = !o.continue || (b.context.length === 0 && this.pending === null);
    let ids = this.encode(prompt, fresh, addBos);
    if (!fresh && this.pending !== null) ids = [this.pending, ...ids];
    if (ids.length === 0) throw new RangeError('the prompt is empty');
    // Checked before anything is cleared or written, so a rejected prompt loses nothing.
    const used = fresh ? 0 : b.context.length;
    if (fresh && ids.length > b.maxPrompt) throw new ContextOverflowError(`a prompt of ${ids.length} tokens exceeds the ${b.maxPrompt} this engine takes (raise maxPromptTokens)`, ids.length, b.maxPrompt);
    const room = b.maxContext - used - ids.length;
    if (room < 1) throw new ContextOverflowError(`the prompt needs ${used + ids.length + 1} tokens of context; the model has ${b.maxContext}`, used + ids.length + 1, b.maxContext);
    if (fresh) this.clear();
    const maxTokens = Math.min(o.maxTokens ?? 256, room);
    const stopIds = o.stopAtEos === false ? [] : (this.tokenizer?.eosIds ?? this.config.eosTokenIds);
    const stops = new StopStrings(o.stop === undefined ? [] : typeof o.stop === 'string' ? [o.stop] : o.stop);
    const sampling: SamplingOptions = { ...this.sampling, ...pickSampling(o) };
    const promptTokens = b.context.length + ids.length;

    // A later turn longer than a chunk goes in pieces, each compressed after (as on the GPU).
    const prefill = b.context.length === 0;
    const head = prefill ? [] : ids.slice(0, Math.max(0, ids.length - b.turnChunk));
    const t0 = performance.now();
    const before = b.context.length;
    const pending = this.pending;
    this.pending = null;
    const decoder = this.tokenizer?.createDecoder(ids[ids.length - 1]);
    const out: number[] = [];
    let t1 = t0;
    let finishReason: FinishReason = 'length';
    // Each chunk goes out when the next id arrives, so the last one can carry the decoder's tail.
    let held: GenerationChunk | null = null;
    const send = (c: GenerationChunk | null) => {
      if (held) emit(held);
      held = c;
    };
    try {
      for (let i = 0; i < head.length; i += b.turnChunk) await b.append(head.slice(i, i + b.turnChunk), GREEDY, 0, o.signal);
      for await (const id of generateIds(b, ids.slice(head.length), { maxTokens, sampling, signal: o.signal })) {
        if (out.length === 0) t1 = performance.now();
        out.push(id);
        // The last id is sampled but not fed back: a later turn starts with it.
        this.pending = id;
        if (stopIds.includes(id)) {
          finishReason = 'stop';
          // The stop id ends the turn; the next prompt's rendering carries its meaning.
          this.pending = null;
          send({ id, text: stops.flush(decoder?.flush() ?? ''), index: out.length - 1 });
          break;
        }
        send({ id, text: stops.push(decoder ? decoder.push(id) : ''), index: out.length - 1 });
        if (stops.stopped) {
          finishReason = 'stop';
          break;
        }
      }
    } catch (e) {
      // Nothing was written (an abort is checked before each write): the held token is still due.
      if (b.context.length === before) this.pending = pending;
      throw e;
    }
    if (held && finishReason === 'length') (held as GenerationChunk).text += stops.flush(decoder?.flush() ?? '');
    send(null);
    const t2 = performance.now();
    const decoded = out.length - 1;
    return {
      ids: out,
      text: stops.value,
      finishReason,
      stats: {
        promptTokens,
        completionTokens: out.length,
        prefillSeconds: (t1 - t0) / 1000,
        decodeSeconds: (t2 - t1) / 1000,
        prefillTokensPerSecond: ids.length / Math.max((t1 - t0) / 1000, 1e-9),
        decodeTokensPerSecond: decoded > 0 ? decoded / Math.max((t2 - t1) / 1000, 1e-9) : 0,
        kv: await b.kvStats(),
      },
    };
  }
}

/** The id sampled after a piece of a longer turn is not used. */
const GREEDY = resolveSampling({ greedy: true });

function pickSampling(o: GenerateOptions): SamplingOptions {
  const s: SamplingOptions = {};
  for (const k of ['temperature', 'topK', 'topP', 'repetitionPenalty', 'repetitionWindow', 'seed', 'greedy'] as const) {
    if (o[k] !== undefined) (s as Record<string, unknown>)[k] = o[k];
  }
  return s;
}
