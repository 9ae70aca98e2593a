/**
 * API misuse, table-driven, the same on every backend: each bad call must fail with the right
 * typed error (a RangeError naming the argument for argument checks) before anything runs, and
 * the engine must then reproduce its baseline, the conversation it held included.
 */
import type { GpuContext } from '../../src/gpu/device';
import { createEngine, type Engine, type EngineOptions } from '../../src/engine/engine';

type Options = Omit<EngineOptions, 'gpu'>;
/** Called as a careless or hostile caller would: types are not what stops them. */
type Loose = any; // eslint-disable-line @typescript-eslint/no-explicit-any

const PROMPT = [1, 2, 3, 4, 5, 6, 7, 8];
const NEXT = [9, 10, 11];
const user = (content: unknown) => ({ messages: [{ role: 'user', content }] }) as Loose;

export interface Misuse {
  name: string;
  call: (e: Engine) => unknown;
  /** The error's class name, and text its message must contain (the argument's name). */
  error: string;
  names: string;
}

const gen = (name: string, prompt: unknown, options: unknown, names: string): Misuse => ({
  name,
  call: (e) => e.generate(prompt as Loose, options as Loose).result,
  error: 'RangeError',
  names,
});
const chat = (name: string, req: unknown, names: string): Misuse => ({ name, call: (e) => e.chat.completions.create(req as Loose), error: 'RangeError', names });

export const MISUSES: Misuse[] = [
  gen('topP 0', PROMPT, { topP: 0 }, 'topP'),
  gen('topP NaN', PROMPT, { topP: NaN }, 'topP'),
  gen('topP 1.5', PROMPT, { topP: 1.5 }, 'topP'),
  gen('temperature NaN', PROMPT, { temperature: NaN }, 'temperature'),
  gen('temperature -1', PROMPT, { temperature: -1 }, 'temperature'),
  gen('temperature Infinity', PROMPT, { temperature: Infinity }, 'temperature'),
  gen('repetitionPenalty 0', PROMPT, { repetitionPenalty: 0 }, 'repetitionPenalty'),
  gen('repetitionPenalty NaN', PROMPT, { repetitionPenalty: NaN }, 'repetitionPenalty'),
  gen('topK -1', PROMPT, { topK: -1 }, 'topK'),
  gen('topK 2.5', PROMPT, { topK: 2.5 }, 'topK'),
  gen('repetitionWindow 1000', PROMPT, { repetitionWindow: 1000 }, 'repetitionWindow'),
  gen('seed 1.5', PROMPT, { seed: 1.5 }, 'seed'),
  gen('maxTokens NaN', PROMPT, { maxTokens: NaN }, 'maxTokens'),
  gen('maxTokens 0 with continue', NEXT, { maxTokens: 0, continue: true }, 'maxTokens'),
  gen('maxTokens -5', PROMPT, { maxTokens: -5 }, 'maxTokens'),
  gen('maxTokens 2.5', PROMPT, { maxTokens: 2.5 }, 'maxTokens'),
  gen('prompt []', [], {}, 'prompt'),
  gen('prompt [] with continue', [], { continue: true }, 'prompt'),
  gen('prompt 42', 42, {}, 'prompt'),
  gen('prompt null', null, {}, 'prompt'),
  gen('prompt an object', { text: 'hi' }, {}, 'prompt'),
  gen('id -1', [1, -1], {}, 'prompt[1]'),
  gen('id 2.5', [1, 2.5], {}, 'prompt[1]'),
  gen('id NaN', [1, NaN], {}, 'prompt[1]'),
  gen('ids past the vocabulary', [1, 5000, 99999], {}, 'prompt[1]'),
  gen('an id that is a string', [1, '2'], {}, 'prompt[1]'),
  gen('stop [null]', PROMPT, { stop: [null] }, 'stop[0]'),
  gen('stop 5', PROMPT, { stop: 5 }, 'stop'),
  gen("stop ''", PROMPT, { stop: '' }, 'stop'),
  gen('options a string', PROMPT, 'greedy', 'options'),
  gen('signal a string', PROMPT, { signal: 'stop' }, 'signal'),
  gen('continue "yes"', NEXT, { continue: 'yes' }, 'continue'),
  chat('messages []', { messages: [] }, 'messages'),
  chat('messages [null]', { messages: [null] }, 'messages[0]'),
  chat('messages missing', {}, 'messages'),
  chat('messages a string', { messages: 'hi' }, 'messages'),
  chat('role wizard', { messages: [{ role: 'wizard', content: 'x' }] }, 'messages[0].role'),
  chat('content 123', user(123), 'messages[0].content'),
  chat('content an image part', user([{ type: 'text', text: 'a' }, { type: 'image_url', image_url: { url: 'x' } }]), 'messages[0].content[1].type'),
  chat('n 2', { ...user('hi'), n: 2 }, 'n'),
  chat('temperature 3 (OpenAI: 0 to 2)', { ...user('hi'), temperature: 3 }, 'temperature'),
  chat('top_p 0', { ...user('hi'), top_p: 0 }, 'top_p'),
  chat('max_tokens 0', { ...user('hi'), max_tokens: 0 }, 'max_tokens'),
  chat('stop [5]', { ...user('hi'), stop: [5] }, 'stop[0]'),
  chat('seed "x"', { ...user('hi'), seed: 'x' }, 'seed'),
  chat('a request that is not an object', null, 'request'),
  chat('frequency_penalty 1 (not supported)', { ...user('hi'), frequency_penalty: 1 }, 'frequency_penalty'),
  chat('tools (not supported)', { ...user('hi'), tools: [{ type: 'function', function: { name: 'f' } }] }, 'tools'),
  chat("response_format json_object (not supported)", { ...user('hi'), response_format: { type: 'json_object' } }, 'response_format'),
];

/** createEngine options, each failing before anything loads (or, for the budget, before a backend is made). */
export const ENGINE_MISUSES: { name: string; patch: Record<string, unknown>; names: string }[] = [
  { name: 'model undefined', patch: { model: undefined }, names: 'model' },
  { name: 'model 42', patch: { model: 42 }, names: 'model' },
  { name: "model ''", patch: { model: '' }, names: 'model' },
  { name: 'model []', patch: { model: [] }, names: 'model' },
  { name: "backend 'tpu'", patch: { backend: 'tpu' }, names: 'backend' },
  { name: 'revision 42', patch: { revision: 42 }, names: 'revision' },
  { name: 'onProgress true', patch: { onProgress: true }, names: 'onProgress' },
  { name: 'prefillChunk NaN', patch: { prefillChunk: NaN }, names: 'prefillChunk' },
  { name: 'prefillChunk 0', patch: { prefillChunk: 0 }, names: 'prefillChunk' },
  { name: "kvDtype 'f8'", patch: { kvDtype: 'f8' }, names: 'kvDtype' },
  { name: 'sampling.topP 0', patch: { sampling: { topP: 0 } }, names: 'sampling.topP' },
  { name: "policy 'nope'", patch: { kv: { policy: 'nope' } }, names: 'policy' },
  { name: 'hhRatio 2', patch: { kv: { policy: 'h2o', hhRatio: 2 } }, names: 'hhRatio' },
  { name: 'recentRatio -1', patch: { kv: { policy: 'h2o', recentRatio: -1 } }, names: 'recentRatio' },
  { name: 'alpha NaN', patch: { kv: { policy: 'd2o', alpha: NaN } }, names: 'alpha' },
  { name: 'protectedLayers [-1]', patch: { kv: { policy: 'd2o', protectedLayers: [-1] } }, names: 'protectedLayers[0]' },
  { name: 'protectedLayers [0, 99]', patch: { kv: { policy: 'd2o', protectedLayers: [0, 99] } }, names: 'protectedLayers[1]' },
  { name: 'a 1e9-token budget', patch: { kv: { policy: 'h2o', budget: 1e9 } }, names: 'budget' },
];

const describeError = (e: unknown) => (e === null ? null : { name: (e as Error)?.name, message: String((e as Error)?.message) });
const outcome = (f: () => unknown) =>
  Promise.resolve()
    .then(f)
    .then(() => null, describeError);

/** Every misuse between two turns of a conversation: its error, and whether the turns still equal the baseline. */
export async function misuseCase(ctx: GpuContext | null, o: Options) {
  const engine = await createEngine({ ...o, gpu: ctx ?? undefined });
  try {
    const first = async () => (await engine.generate(PROMPT, { greedy: true, maxTokens: 6 }).result).ids;
    const second = async () => (await engine.generate(NEXT, { greedy: true, maxTokens: 6, continue: true }).result).ids;
    const baseline = [...(await first()), ...(await second())];
    const results = [];
    for (const m of MISUSES) {
      const a = await first();
      const error = await outcome(() => m.call(engine));
      const b = await second();
      results.push({ name: m.name, expected: m.error, names: m.names, error, reproduces: JSON.stringify([...a, ...b]) === JSON.stringify(baseline) });
    }
    // Not a misuse: ids as a typed array are the same prompt.
    await first();
    const typed = (await engine.generate(Int32Array.from(NEXT) as Loose, { greedy: true, maxTokens: 6, continue: true }).result).ids;
    return { baseline, results, typedArrayReproduces: JSON.stringify(typed) === JSON.stringify(baseline.slice(6)) };
  } finally {
    engine.dispose();
  }
}

export async function engineMisuseCase(ctx: GpuContext | null, o: Options) {
  const results = [];
  for (const m of ENGINE_MISUSES) {
    let engine: Engine | null = null;
    const error = await outcome(async () => {
      engine = await createEngine({ ...o, ...m.patch, gpu: ctx ?? undefined } as Loose);
    });
    (engine as Engine | null)?.dispose();
    results.push({ name: m.name, names: m.names, error });
  }
  return results;
}

/** After dispose(), every call fails with the same typed error; dispose() again is harmless. */
export async function disposedCase(ctx: GpuContext | null, o: Options) {
  const engine = await createEngine({ ...o, gpu: ctx ?? undefined });
  engine.dispose();
  const calls: [string, () => unknown][] = [
    ['generate', () => engine.generate(PROMPT).result],
    ['chat', () => engine.chat.completions.create({ messages: [{ role: 'user', content: 'hi' }] })],
    ['kvStats', () => engine.kvStats()],
    ['kvMap', () => engine.kvMap()],
    ['reset', () => engine.reset()],
    ['dispose', () => engine.dispose()],
  ];
  const out: Record<string, ReturnType<typeof describeError>> = {};
  for (const [name, f] of calls) out[name] = await outcome(f);
  // Disposed while a generation streams: that generation ends with the same error.
  const busy = await createEngine({ ...o, kv: { policy: 'streaming', budget: 16 }, gpu: ctx ?? undefined });
  const g = busy.generate(PROMPT, { greedy: true, maxTokens: 1_000_000, stopAtEos: false });
  out.midGeneration = await outcome(async () => {
    let n = 0;
    for await (const _ of g) if (++n === 3) busy.dispose();
  });
  return out;
}

/** A generation that would run without end is stopped by a timer's AbortSignal; the engine then works. */
export async function timerAbortCase(ctx: GpuContext | null, o: Options) {
  const engine = await createEngine({ ...o, kv: { policy: 'streaming', budget: 16 }, gpu: ctx ?? undefined });
  try {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const error = await outcome(() => engine.generate(PROMPT, { greedy: true, maxTokens: 1_000_000, stopAtEos: false, signal: AbortSignal.timeout(50) }).result);
    clearInterval(timer);
    const again = (await engine.generate(PROMPT, { greedy: true, maxTokens: 6 }).result).ids;
    return { error, ticks, again };
  } finally {
    engine.dispose();
  }
}
