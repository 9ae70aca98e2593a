/** Messages between a worker engine (the page side) and its worker, and errors across the boundary. */
import { AbortError, ContextOverflowError, D2OError, DeviceLostError, EngineDisposedError, GatedModelError, LoadError, ModelFormatError, NoWebGPUError, UnsupportedModelError } from '../errors';
import type { ModelConfig, LoadProgress } from '../model/types';
import type { EngineOptions } from './engine';
import type { SamplingOptions } from '../backend/sampling';
import type { GenerateOptions, GenerationChunk, GenerationResult } from './conversation';
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
  | { t: 'ready'; name: string; config: ModelConfig; hasChatTemplate: boolean; samplingDefaults: SamplingOptions }
  | { t: 'chunk'; id: number; chunk: GenerationChunk | ChatCompletionChunk }
  | { t: 'done'; id: number; value: GenerationResult | ChatCompletion | unknown }
  | { t: 'error'; id: number | null; error: SerializedError };

export interface SerializedError {
  name: string;
  message: string;
  /** The typed error's own fields (problem, file, tokens, limit, reason, repo, status). */
  fields: Record<string, unknown>;
}

/** The typed errors by their explicit names (class names do not survive minification). */
const TYPED_ERRORS = new Map<string, { prototype: D2OError }>(
  [D2OError, ModelFormatError, UnsupportedModelError, NoWebGPUError, DeviceLostError, ContextOverflowError, AbortError, EngineDisposedError, LoadError, GatedModelError].map(
    (C) => [C.prototype.name, C],
  ),
);

export function serializeError(e: unknown): SerializedError {
  if (!(e instanceof Error)) return { name: 'Error', message: String(e), fields: {} };
  // The typed errors' own fields (problem, file, tokens, limit, reason, repo, status).
  const fields = e instanceof D2OError ? { ...e } : {};
  return { name: e.name, message: e.message, fields };
}

/** The same class on the page as in the worker, so `instanceof ContextOverflowError` works. */
export function deserializeError(s: SerializedError): Error {
  const Ctor = TYPED_ERRORS.get(s.name);
  if (Ctor) {
    const e = Object.create(Ctor.prototype) as Error;
    // As a constructed error has them: message and stack not enumerable, the fields enumerable.
    const own = (value: string) => ({ value, writable: true, configurable: true });
    Object.defineProperties(e, { message: own(s.message), stack: own(`${s.name}: ${s.message}\n    (in the engine worker)`) });
    return Object.assign(e, s.fields);
  }
  if (s.name === 'RangeError' || s.name === 'TypeError') return new (s.name === 'RangeError' ? RangeError : TypeError)(s.message);
  return new D2OError(s.message);
}
