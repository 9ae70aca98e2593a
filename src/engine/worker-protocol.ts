/** Messages between a worker engine (the page side) and its worker, and errors across the boundary. */
import * as errors from '../errors';
import type { ModelConfig, LoadProgress } from '../model/types';
import type { EngineOptions, GenerateOptions, GenerationChunk, GenerationResult } from './engine';
import type { ChatCompletion, ChatCompletionChunk, ChatCompletionRequest } from './chat-completions';

export type WorkerEngineOptions = Omit<EngineOptions, 'gpu' | 'signal' | 'onProgress' | 'model'> & {
  /** A URL, a Hugging Face repo id or browser Files (a FileSource cannot cross to a worker). */
  model: string | readonly File[];
};

export type ToWorker =
  | { t: 'create'; options: WorkerEngineOptions }
  | { t: 'generate'; id: number; prompt: string | readonly number[]; options: Omit<GenerateOptions, 'signal'> }
  | { t: 'chat'; id: number; req: ChatCompletionRequest }
  | { t: 'call'; id: number; method: 'kvStats' | 'kvMap' | 'reset' }
  | { t: 'abort'; id: number }
  | { t: 'dispose' };

export type FromWorker =
  | { t: 'progress'; progress: LoadProgress }
  | { t: 'ready'; name: string; config: ModelConfig; hasChatTemplate: boolean }
  | { t: 'chunk'; id: number; chunk: GenerationChunk | ChatCompletionChunk }
  | { t: 'done'; id: number; value: GenerationResult | ChatCompletion | unknown }
  | { t: 'error'; id: number | null; error: SerializedError };

export interface SerializedError {
  name: string;
  message: string;
  /** The typed error's own fields (problem, file, tokens, limit, reason). */
  fields: Record<string, unknown>;
}

export function serializeError(e: unknown): SerializedError {
  if (!(e instanceof Error)) return { name: 'Error', message: String(e), fields: {} };
  const fields: Record<string, unknown> = {};
  for (const k of ['problem', 'file', 'tokens', 'limit', 'reason']) if (k in e) fields[k] = (e as unknown as Record<string, unknown>)[k];
  return { name: e.name, message: e.message, fields };
}

/** The same class on the page as in the worker, so `instanceof ContextOverflowError` works. */
export function deserializeError(s: SerializedError): Error {
  const Ctor = (errors as Record<string, unknown>)[s.name];
  let e: Error;
  if (typeof Ctor === 'function' && (Ctor as { prototype: unknown }).prototype instanceof errors.D2OError) {
    e = Object.create((Ctor as { prototype: object }).prototype) as Error;
    Object.assign(e, { name: s.name, message: s.message, stack: `${s.name}: ${s.message}\n    (in the engine worker)` }, s.fields);
  } else if (s.name === 'RangeError' || s.name === 'TypeError') {
    e = new (s.name === 'RangeError' ? RangeError : TypeError)(s.message);
  } else {
    e = new errors.D2OError(s.message);
  }
  return e;
}
