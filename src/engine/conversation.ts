/**
 * A conversation on a backend: the turn loop (encode, check the room, prefill or continue on the
 * compressed cache, decode, stop ids and stop strings, streamed text, statistics) that
 * `engine.generate`, `engine.chat.completions` and the CLI all run. Turns run one at a time, in
 * call order (`exclusive`); the last sampled id, not yet in the context, opens the next turn.
 */
import { ContextOverflowError, D2OError, EngineDisposedError, throwIfAborted } from '../errors';
import type { Tokenizer } from '../tokenizer';
import type { KvStats } from '../kv/stats';
import type { Backend } from '../backend/backend';
import { resolveSampling, type SamplingOptions } from '../backend/sampling';
import { generateIds } from './generate';
import { StopStrings } from './stop-strings';
import { freshSeed } from './generation-defaults';
import type { GenerationStream } from './stream';

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
  /** Prompt tokens that were already in the cache and not recomputed. */
  cachedTokens: number;
  kv: KvStats;
}

export interface GenerationResult {
  /** Generated ids (a final EOS included). */
  ids: number[];
  /** What the ids were drawn with (defaults and the seed included: pass it back to draw them again). */
  sampling: SamplingOptions;
  text: string;
  finishReason: FinishReason;
  stats: GenerationStats;
}

export type Generation = GenerationStream<GenerationChunk, GenerationResult>;

export interface TurnOptions extends GenerateOptions {
  /** BOS in front of a text prompt that opens the context (default true; a chat template writes its own). */
  addBos?: boolean;
  /**
   * The prompt is the whole conversation (a rendered chat): keep the longest prefix of token ids
   * the context already holds and feed the rest. Where the ids diverge from what is held (an
   * edited or regenerated message, a template that re-renders a reply differently), the full cache
   * is cut back to the common prefix and a compressing cache recomputes the conversation (in
   * chunks, as any prompt); `stats.cachedTokens` says how many ids were reused.
   */
  reuse?: boolean;
}

export class Conversation {
  private queue: Promise<unknown> = Promise.resolve();
  /** The last sampled id when it is not in the context yet (generation ended on it). */
  private pending: number | null = null;
  private readonly eosIds: readonly number[];
  private disposed = false;

  constructor(
    readonly backend: Backend,
    /** null for a model without a tokenizer: prompts are then token ids. */
    readonly tokenizer: Tokenizer | null,
    /** The model's EOS ids, used when the tokenizer names none. */
    eosIds: readonly number[],
    /** Defaults for every turn (each can override them). */
    private readonly sampling: SamplingOptions = {},
  ) {
    this.eosIds = tokenizer?.eosIds ?? eosIds;
  }

  /** Tokens in the context now (the sequence length, compressed or not). */
  get length(): number {
    return this.backend.context.length;
  }

  /** Runs `f` after every earlier call has finished (not at all once the conversation is disposed). */
  exclusive<T>(f: () => Promise<T>): Promise<T> {
    const run = () => {
      this.assertLive();
      return f();
    };
    const next = this.queue.then(run, run);
    this.queue = next.catch(() => {});
    return next;
  }

  /**
   * After this, every call fails with EngineDisposedError (those already queued included, and a
   * turn in flight at its next token). Resolves once no turn runs, when the backend may be freed.
   */
  dispose(): Promise<void> {
    this.disposed = true;
    return this.queue.then(() => {});
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  assertLive(): void {
    if (this.disposed) throw new EngineDisposedError('the engine was disposed: create a new one');
  }

  /** Forgets the conversation (the weights stay loaded); call inside `exclusive`. */
  clear(): void {
    this.backend.reset();
    this.pending = null;
  }

  /** Token ids for a prompt; BOS in front when it opens the context (and the text has none). */
  private encode(prompt: string | readonly number[], opensContext: boolean, addBos: boolean): number[] {
    if (typeof prompt !== 'string') return [...prompt];
    if (!this.tokenizer) throw new D2OError('this model has no tokenizer (none beside it, none in its GGUF metadata): put its tokenizer.json beside it, or pass token ids');
    return this.tokenizer.encode(prompt, { addBos: opensContext && addBos });
  }

  /** One turn: `prompt` in, the reply streamed through `emit`; call inside `exclusive`. */
  async turn(prompt: string | readonly number[], o: TurnOptions, emit: (c: GenerationChunk) => void): Promise<GenerationResult> {
    throwIfAborted(o.signal);
    const b = this.backend;
    // `kept`: context ids the turn builds on; `ids`: what it feeds after them.
    let kept: number;
    let ids: number[];
    if (o.reuse) {
      const all = this.encode(prompt, true, o.addBos ?? true);
      // At least the last id is fed: its logits start the reply.
      kept = Math.min(commonPrefix(all, b.context), all.length - 1);
      ids = all.slice(Math.max(kept, 0));
    } else {
      const fresh = !o.continue || (b.context.length === 0 && this.pending === null);
      ids = this.encode(prompt, fresh, o.addBos ?? true);
      if (!fresh && this.pending !== null) ids = [this.pending, ...ids];
      kept = fresh ? 0 : b.context.length;
    }
    if (ids.length === 0) throw new RangeError('the prompt is empty');
    // Checked before anything is cleared or written, so a rejected prompt loses nothing.
    const room = b.maxContext - kept - ids.length;
    if (room < 1) throw new ContextOverflowError(`the prompt needs ${kept + ids.length + 1} tokens of context; the model has ${b.maxContext}`, kept + ids.length + 1, b.maxContext);
    if (kept < b.context.length && !b.truncate(kept)) {
      // A compressed cache cannot forget its later tokens: the conversation is recomputed.
      ids = [...b.context.slice(0, kept), ...ids];
      kept = 0;
    }
    if (kept === 0) this.clear();
    else if (o.reuse) this.pending = null;
    const maxTokens = Math.min(o.maxTokens ?? 256, room);
    const stopIds = o.stopAtEos === false ? [] : this.eosIds;
    const stops = new StopStrings(o.stop === undefined ? [] : typeof o.stop === 'string' ? [o.stop] : o.stop);
    const sampling: SamplingOptions = { ...this.sampling, ...pickSampling(o) };
    // A fixed default seed would give identical "random" replies to identical requests.
    sampling.seed ??= freshSeed();
    const promptTokens = kept + ids.length;

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
      for await (const id of generateIds(b, ids, { maxTokens, sampling, signal: o.signal })) {
        this.assertLive();
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
      // Disposed mid-turn: whatever the freed buffers made the backend throw, the cause is this.
      if (this.disposed) throw new EngineDisposedError('the engine was disposed during this generation', { cause: e });
      // What the turn wrote is taken back where the cache can (the full cache: the conversation
      // held is kept, e.g. when the device has no memory for a longer context); then the held
      // token is still due.
      if (b.context.length > before) b.truncate(before);
      if (b.context.length === before) this.pending = pending;
      throw e;
    }
    if (held && finishReason === 'length') (held as GenerationChunk).text += stops.flush(decoder?.flush() ?? '');
    send(null);
    const t2 = performance.now();
    const decoded = out.length - 1;
    return {
      ids: out,
      sampling,
      text: stops.value,
      finishReason,
      stats: {
        promptTokens,
        completionTokens: out.length,
        prefillSeconds: (t1 - t0) / 1000,
        decodeSeconds: (t2 - t1) / 1000,
        prefillTokensPerSecond: ids.length / Math.max((t1 - t0) / 1000, 1e-9),
        decodeTokensPerSecond: decoded > 0 ? decoded / Math.max((t2 - t1) / 1000, 1e-9) : 0,
        cachedTokens: kept,
        kv: await b.kvStats(),
      },
    };
  }
}


/** Length of the longest common prefix of two id sequences. */
function commonPrefix(a: readonly number[], b: readonly number[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

function pickSampling(o: GenerateOptions): SamplingOptions {
  const s: SamplingOptions = {};
  for (const k of ['temperature', 'topK', 'topP', 'repetitionPenalty', 'repetitionWindow', 'seed', 'greedy'] as const) {
    if (o[k] !== undefined) (s as Record<string, unknown>)[k] = o[k];
  }
  return s;
}
