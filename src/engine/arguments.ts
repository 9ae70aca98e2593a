/**
 * Argument checks where calls enter the engine (createEngine, generate, chat.completions.create):
 * each bad argument is a RangeError that names it and the range it accepts, thrown before anything
 * is cleared, written or run, so a careless call loses nothing and the engine stays usable.
 */
import type { ResolvedPolicy } from '../kv/policy';
import { KV_DTYPES } from '../kv/dtype';
import type { ModelConfig } from '../model/types';
import type { ChatMessage } from '../tokenizer';
import { argumentError, checkBoolean, checkNumber, checkObject } from '../util/range-checks';
import type { SamplingOptions } from '../backend/sampling';
import type { GenerateOptions } from './conversation';

/** The names a caller used: the engine's (topP) or OpenAI's (top_p), and OpenAI's narrower temperature. */
export interface SamplingNames {
  temperature: string;
  topK: string;
  topP: string;
  repetitionPenalty: string;
  repetitionWindow: string;
  seed: string;
  greedy: string;
  maxTemperature?: number;
}

const NATIVE: SamplingNames = { temperature: 'temperature', topK: 'topK', topP: 'topP', repetitionPenalty: 'repetitionPenalty', repetitionWindow: 'repetitionWindow', seed: 'seed', greedy: 'greedy' };

export function checkSampling(o: SamplingOptions, names: SamplingNames = NATIVE, prefix = ''): void {
  checkNumber(o.temperature, prefix + names.temperature, { min: 0, max: names.maxTemperature });
  checkNumber(o.topK, prefix + names.topK, { min: 0, integer: true });
  checkNumber(o.topP, prefix + names.topP, { min: 0, minOpen: true, max: 1 });
  checkNumber(o.repetitionPenalty, prefix + names.repetitionPenalty, { min: 0, minOpen: true });
  checkNumber(o.repetitionWindow, prefix + names.repetitionWindow, { min: 1, max: 256, integer: true });
  checkNumber(o.seed, prefix + names.seed, { min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER, integer: true });
  checkBoolean(o.greedy, prefix + names.greedy);
}

function checkSignal(v: unknown, name: string): void {
  if (v !== undefined && !(typeof v === 'object' && v !== null && typeof (v as AbortSignal).aborted === 'boolean' && typeof (v as AbortSignal).addEventListener === 'function'))
    throw argumentError(name, 'an AbortSignal', v);
}

function checkStop(v: unknown, name: string): void {
  if (v === undefined) return;
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list)) throw argumentError(name, 'a string or an array of strings', v);
  list.forEach((s, i) => {
    if (typeof s !== 'string' || s === '') throw argumentError(Array.isArray(v) ? `${name}[${i}]` : name, 'a non-empty string', s);
  });
}

/** What `generate` takes besides the prompt, checked before the turn is queued. */
export function checkGenerateOptions(o: unknown): asserts o is GenerateOptions | undefined {
  checkObject(o, 'options');
  if (o === undefined) return;
  const g = o as GenerateOptions;
  checkSampling(g);
  checkNumber(g.maxTokens, 'maxTokens', { min: 1, max: 2 ** 31 - 1, integer: true });
  checkStop(g.stop, 'stop');
  checkBoolean(g.stopAtEos, 'stopAtEos');
  checkBoolean(g.continue, 'continue');
  checkSignal(g.signal, 'signal');
}

/** A prompt is text, or a non-empty list of integer token ids below the vocabulary size. */
export function checkPrompt(prompt: unknown, vocabSize: number): asserts prompt is string | readonly number[] {
  if (typeof prompt === 'string') return;
  // Typed arrays of ids (Int32Array, Uint32Array...) are lists of ids too.
  const ids = ArrayBuffer.isView(prompt) && !(prompt instanceof DataView) ? Array.from(prompt as unknown as ArrayLike<number>) : prompt;
  if (!Array.isArray(ids)) throw argumentError('prompt', 'a string or an array of token ids', prompt);
  if (ids.length === 0) throw argumentError('prompt', 'a string or a non-empty array of token ids', prompt);
  ids.forEach((id, i) => {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= vocabSize) throw argumentError(`prompt[${i}]`, `a token id from 0 to ${vocabSize - 1}`, id);
  });
}

/** OpenAI's roles; a template decides what it makes of each (tool calls are not supported). */
const ROLES = ['system', 'developer', 'user', 'assistant', 'tool'];

/**
 * Chat messages as OpenAI takes them, normalised for the chat template: content is a string, or
 * an array of content parts whose text parts are joined (other kinds of part are refused).
 */
export function chatMessages(messages: unknown): ChatMessage[] {
  if (!Array.isArray(messages) || messages.length === 0) throw argumentError('messages', 'a non-empty array of messages', messages);
  return messages.map((m: unknown, i) => {
    const at = `messages[${i}]`;
    if (typeof m !== 'object' || m === null || Array.isArray(m)) throw argumentError(at, 'a message object { role, content }', m);
    const { role, content } = m as { role?: unknown; content?: unknown };
    if (typeof role !== 'string' || !ROLES.includes(role)) throw argumentError(`${at}.role`, `one of ${ROLES.join(', ')}`, role);
    if (typeof content === 'string') return { role, content };
    if (!Array.isArray(content)) throw argumentError(`${at}.content`, 'a string or an array of text parts', content);
    const text = content.map((p: unknown, j) => {
      const part = p as { type?: unknown; text?: unknown } | null;
      if (typeof part !== 'object' || part === null || part.type !== 'text')
        throw argumentError(`${at}.content[${j}].type`, "'text' (this engine reads text only)", typeof part === 'object' && part !== null ? part.type : part);
      if (typeof part.text !== 'string') throw argumentError(`${at}.content[${j}].text`, 'a string', part.text);
      return part.text;
    });
    return { role, content: text.join('') };
  });
}

const OPENAI: SamplingNames = { temperature: 'temperature', topK: 'top_k', topP: 'top_p', repetitionPenalty: 'repetition_penalty', repetitionWindow: 'repetition_window', seed: 'seed', greedy: 'greedy', maxTemperature: 2 };

/** The fields of a chat-completions request, in OpenAI's names and ranges (null means the default). */
export interface ChatRequestFields {
  messages?: unknown;
  stream?: unknown;
  stream_options?: unknown;
  max_tokens?: unknown;
  max_completion_tokens?: unknown;
  temperature?: unknown;
  top_p?: unknown;
  top_k?: unknown;
  repetition_penalty?: unknown;
  stop?: unknown;
  seed?: unknown;
  n?: unknown;
  frequency_penalty?: unknown;
  presence_penalty?: unknown;
  tools?: unknown;
  tool_choice?: unknown;
  functions?: unknown;
  function_call?: unknown;
  logit_bias?: unknown;
  logprobs?: unknown;
  top_logprobs?: unknown;
  response_format?: unknown;
}

/** Checks a chat-completions request as OpenAI documents it; returns its messages normalised. */
export function checkChatRequest(req: unknown): ChatMessage[] {
  if (typeof req !== 'object' || req === null || Array.isArray(req)) throw argumentError('the request', 'an object { messages, ... }', req);
  const r = req as ChatRequestFields;
  const given = (v: unknown) => (v === null ? undefined : v);
  if (given(r.n) !== undefined && r.n !== 1) throw argumentError('n', '1 (one choice per request)', r.n);
  checkBoolean(given(r.stream), 'stream');
  checkObject(given(r.stream_options), 'stream_options');
  checkNumber(given(r.max_tokens), 'max_tokens', { min: 1, max: 2 ** 31 - 1, integer: true });
  checkNumber(given(r.max_completion_tokens), 'max_completion_tokens', { min: 1, max: 2 ** 31 - 1, integer: true });
  checkSampling({ temperature: given(r.temperature), topP: given(r.top_p), topK: given(r.top_k), repetitionPenalty: given(r.repetition_penalty), seed: given(r.seed) } as SamplingOptions, OPENAI);
  checkStop(given(r.stop), 'stop');
  // OpenAI parameters this engine cannot honour fail rather than being ignored (a reply that
  // silently lacks them would look like the model's doing).
  for (const key of ['frequency_penalty', 'presence_penalty'] as const) {
    checkNumber(given(r[key]), key, { min: -2, max: 2 });
    if (given(r[key]) !== undefined && r[key] !== 0) throw argumentError(key, '0 (not supported: use repetition_penalty)', r[key]);
  }
  for (const key of ['tools', 'tool_choice', 'functions', 'function_call', 'logit_bias', 'top_logprobs'] as const)
    if (given(r[key]) !== undefined) throw argumentError(key, 'absent (not supported by this engine)', r[key]);
  if (given(r.logprobs) !== undefined && r.logprobs !== false) throw argumentError('logprobs', 'false (not supported by this engine)', r.logprobs);
  const format = given(r.response_format) as { type?: unknown } | undefined;
  if (format !== undefined && format?.type !== 'text') throw argumentError('response_format', "{ type: 'text' } (structured output is not supported)", format?.type ?? format);
  return chatMessages(r.messages);
}

const BACKENDS = ['webgpu', 'cpu'];

/** What createEngine takes, checked before anything loads (the KV options by resolvePolicy). */
export function checkEngineOptions(o: unknown): void {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw argumentError('createEngine options', 'an object { model, ... }', o);
  const e = o as Record<string, unknown>;
  const m = e.model;
  const isSource = (s: unknown) => typeof s === 'object' && s !== null && typeof (s as { read?: unknown }).read === 'function';
  const modelOk =
    (typeof m === 'string' && m.trim() !== '') ||
    (Array.isArray(m) && m.length > 0 && m.every((f) => typeof f === 'object' && f !== null)) ||
    isSource(m) ||
    (typeof m === 'object' && m !== null && isSource((m as { source?: unknown }).source) && ['string', 'undefined'].includes(typeof (m as { file?: unknown }).file));
  if (!modelOk) throw argumentError('model', 'a repo id, URL or path, a non-empty list of Files, a FileSource, or { source, file }', m);
  if (e.backend !== undefined && !BACKENDS.includes(e.backend as string)) throw argumentError('backend', `one of ${BACKENDS.join(', ')}`, e.backend);
  if (e.prefillChunk !== undefined && !(e.prefillChunk === Infinity || (Number.isInteger(e.prefillChunk) && (e.prefillChunk as number) >= 1)))
    throw argumentError('prefillChunk', 'a positive integer, or Infinity (one-shot prefill)', e.prefillChunk);
  if (e.kvDtype !== undefined && !(KV_DTYPES as readonly unknown[]).includes(e.kvDtype)) throw argumentError('kvDtype', `one of ${KV_DTYPES.join(', ')}`, e.kvDtype);
  checkObject(e.kv, 'kv');
  checkObject(e.sampling, 'sampling');
  if (e.sampling !== undefined) checkSampling(e.sampling as SamplingOptions, NATIVE, 'sampling.');
  if (e.onProgress !== undefined && typeof e.onProgress !== 'function') throw argumentError('onProgress', 'a function', e.onProgress);
  checkSignal(e.signal, 'signal');
  for (const key of ['tokenizerPath', 'baseUrl', 'hfToken', 'hfEndpoint', 'revision'])
    if (e[key] !== undefined && (typeof e[key] !== 'string' || e[key] === '')) throw argumentError(key, 'a non-empty string', e[key]);
  checkBoolean(e.cache, 'cache');
}

/** The KV options against the loaded model: protected layers exist, a token budget fits its context. */
export function checkPolicyForModel(p: ResolvedPolicy, c: ModelConfig): void {
  if (Array.isArray(p.protectedLayers)) p.protectedLayers.forEach((l, i) => {
    if (l >= c.numLayers) throw argumentError(`kv.protectedLayers[${i}]`, `a layer from 0 to ${c.numLayers - 1}`, l);
  });
  // A larger budget never compresses, and would size tables for it.
  if (p.budget.kind === 'tokens' && p.budget.tokens > c.maxPositionEmbeddings)
    throw argumentError('kv.budget', `at most the model's context of ${c.maxPositionEmbeddings} tokens (policy 'full' keeps everything)`, p.budget.tokens);
}
