/**
 * `createWorkerEngine`: the engine API of `createEngine`, with the engine running in a Web Worker
 * (src/engine/worker.ts) so that the page stays responsive while it loads and generates.
 */
import { AbortError, EngineDisposedError, LoadError } from '../errors';
import type { ModelConfig, ProgressCallback } from '../model/types';
import type { KvMap, KvStats } from '../kv/stats';
import type { EngineLike } from './engine';
import type { SamplingOptions } from '../backend/sampling';
import type { GenerateOptions, Generation, GenerationChunk, GenerationResult } from './conversation';
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, ChatCompletionsApi, ChatCompletionStream } from './chat-completions';
import { GenerationStream } from './stream';
import { checkGenerateOptions, checkPrompt } from './arguments';
import { deserializeError, type FromWorker, type ToWorker, type WorkerEngineOptions } from './worker-protocol';

export type { WorkerEngineOptions } from './worker-protocol';

interface Pending {
  chunk?: (c: unknown) => void;
  resolve(v: unknown): void;
  reject(e: Error): void;
}

/**
 * The engine's worker. The pattern `new Worker(new URL(<relative file>, import.meta.url), { type:
 * 'module' })` is what bundlers (Vite, webpack, Parcel) look for to emit a worker: in the published
 * build it names the library's own worker file (dist/d2o-webgpu-worker.js, see vite.config.ts), so an
 * app's build emits it with no configuration. Other bundlers: pass your own Worker (see the README).
 */
function startWorker(): Worker {
  return new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'd2o-engine' });
}

export async function createWorkerEngine(
  options: WorkerEngineOptions & { onProgress?: ProgressCallback; signal?: AbortSignal },
  worker: Worker = startWorker(),
): Promise<EngineLike> {
  const { onProgress, signal, ...rest } = options;
  const engine = new WorkerEngine(worker);
  try {
    // Relative model URLs name files of the page's site, not of the worker script's folder.
    await engine.create({ baseUrl: typeof location === 'undefined' ? undefined : location.href, ...rest }, onProgress, signal);
  } catch (e) {
    worker.terminate();
    throw e;
  }
  return engine;
}

const disposedError = () => new EngineDisposedError('the engine was disposed: create a new one');

class WorkerEngine implements EngineLike {
  name = '';
  config!: ModelConfig;
  hasChatTemplate = false;
  samplingDefaults: SamplingOptions = {};
  readonly chat: { completions: ChatCompletionsApi };
  private next = 1;
  private readonly pending = new Map<number, Pending>();
  private ready: { resolve(): void; reject(e: Error): void; progress?: ProgressCallback } | null = null;
  private disposed = false;

  constructor(private readonly worker: Worker) {
    worker.onmessage = (e: MessageEvent<FromWorker>) => this.receive(e.data);
    // An ErrorEvent with a message is an exception thrown in the worker; a bare Event is a script
    // that could not be fetched or parsed (e.g. a bundler that did not emit the worker file).
    worker.onerror = (e) =>
      this.failAll(
        new LoadError(
          e.message
            ? `the engine worker failed: ${e.message}`
            : 'the engine worker could not start: its script did not load (was the worker file emitted by your bundler? ' +
                'otherwise pass a Worker of your own to createWorkerEngine, see the README)',
        ),
      );
    const create = (req: ChatCompletionRequest, opts: { signal?: AbortSignal } = {}) => this.chatCreate(req, opts);
    this.chat = { completions: { create } as ChatCompletionsApi };
  }

  create(options: WorkerEngineOptions, progress?: ProgressCallback, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      try {
        this.post({ t: 'create', options });
      } catch (e) {
        return reject(e);
      }
      this.ready = { resolve, reject, progress };
      signal?.addEventListener('abort', () => reject(new AbortError('loading aborted', { cause: signal.reason })), { once: true });
    });
  }

  generate(prompt: string | readonly number[], o: GenerateOptions = {}): Generation {
    return new GenerationStream<GenerationChunk, GenerationResult>(async (emit) => {
      // Here too, so that a signal that is not one fails as in the worker, not at addEventListener.
      if (this.disposed) throw disposedError();
      checkPrompt(prompt, this.config.vocabSize);
      checkGenerateOptions(o);
      const { signal, ...options } = o;
      return this.request((id) => ({ t: 'generate', id, prompt, options }), emit, signal);
    });
  }

  private async chatCreate(req: ChatCompletionRequest, opts: { signal?: AbortSignal }): Promise<ChatCompletion | ChatCompletionStream> {
    const stream = new GenerationStream<ChatCompletionChunk, ChatCompletion>((emit) => this.request((id) => ({ t: 'chat', id, req: { ...req, stream: true } }), emit, opts.signal));
    return req.stream ? stream : stream.result;
  }

  kvStats(): Promise<KvStats> {
    return this.request((id) => ({ t: 'call', id, method: 'kvStats' }));
  }

  kvMap(): Promise<KvMap> {
    return this.request((id) => ({ t: 'call', id, method: 'kvMap' }));
  }

  async reset(): Promise<void> {
    await this.request((id) => ({ t: 'call', id, method: 'reset' }));
  }

  /** Ends the worker; every call in flight or made later fails with EngineDisposedError. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.post({ t: 'dispose' });
    this.worker.terminate();
    this.failAll(disposedError());
  }

  private request<T>(message: (id: number) => ToWorker, chunk?: (c: never) => void, signal?: AbortSignal): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      if (this.disposed) return reject(disposedError());
      if (signal?.aborted) return reject(new AbortError('generation aborted', { cause: signal.reason }));
      this.pending.set(id, { chunk: chunk as (c: unknown) => void, resolve: resolve as (v: unknown) => void, reject });
      try {
        this.post(message(id));
      } catch (e) {
        this.pending.delete(id);
        return reject(e);
      }
      // The stream ends at once, as in the page: chunks the worker sent before it saw the abort are dropped.
      signal?.addEventListener(
        'abort',
        () => {
          if (!this.pending.delete(id)) return;
          this.post({ t: 'abort', id });
          reject(new AbortError('generation aborted', { cause: signal.reason }));
        },
        { once: true },
      );
    });
  }

  private receive(m: FromWorker): void {
    if (m.t === 'progress') return this.ready?.progress?.(m.progress);
    if (m.t === 'ready') {
      this.name = m.name;
      this.config = m.config;
      this.hasChatTemplate = m.hasChatTemplate;
      this.samplingDefaults = m.samplingDefaults;
      this.ready?.resolve();
      this.ready = null;
      return;
    }
    if (m.t === 'error' && m.id === null) {
      this.ready?.reject(deserializeError(m.error));
      this.ready = null;
      return;
    }
    const p = this.pending.get(m.id!);
    if (!p) return;
    if (m.t === 'chunk') return p.chunk?.(m.chunk);
    this.pending.delete(m.id!);
    if (m.t === 'done') p.resolve(m.value);
    else p.reject(deserializeError(m.error));
  }

  private failAll(e: Error): void {
    this.ready?.reject(e);
    this.ready = null;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  /** A value the structured clone cannot copy (a function, a DOM node) is the caller's argument error. */
  private post(m: ToWorker): void {
    try {
      this.worker.postMessage(m);
    } catch (e) {
      if ((e as Error)?.name !== 'DataCloneError') throw e;
      const [name, value] = m.t === 'chat' ? ['request', m.req] : m.t === 'generate' ? ['options', m.options] : m.t === 'create' ? ['options', m.options] : [m.t, m];
      throw new RangeError(`${uncloneable(value, name)} cannot be sent to the engine worker: only plain data can (no functions, DOM objects or class instances with methods)`, { cause: e });
    }
  }
}

/** The path (`request.messages[0].content`) of the innermost value under `value` that cannot be cloned. */
function uncloneable(value: unknown, path: string): string {
  if (value === null || typeof value !== 'object') return path;
  for (const [key, v] of Object.entries(value)) {
    try {
      structuredClone(v);
    } catch {
      return uncloneable(v, Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}`);
    }
  }
  return path;
}

