/**
 * The engine API checked the same way on every backend and route (CPU in Node, WebGPU in Node and
 * in Chromium): each case returns what it observed and the test asserts on it.
 */
import type { GpuContext } from '../../src/gpu/device';
import { createEngine, type EngineOptions } from '../../src/engine/engine';
import type { GenerateOptions, GenerationChunk } from '../../src/engine/conversation';
import { AbortError, ContextOverflowError } from '../../src/errors';

type Options = Omit<EngineOptions, 'gpu'>;

/** Streams a greedy generation: the chunks, the result, and whether the chunks add up to it. */
export async function streamCase(ctx: GpuContext | null, o: Options, prompt: string | number[], gen: GenerateOptions) {
  const engine = await createEngine({ ...o, gpu: ctx ?? undefined });
  try {
    const g = engine.generate(prompt, { greedy: true, ...gen });
    const chunks: GenerationChunk[] = [];
    for await (const c of g) chunks.push(c);
    const r = await g.result;
    return {
      ids: r.ids,
      text: r.text,
      finishReason: r.finishReason,
      joined: chunks.map((c) => c.text).join(''),
      chunkIds: chunks.map((c) => c.id),
      stats: r.stats,
    };
  } finally {
    engine.dispose();
  }
}

/** Aborts after `after` chunks, then generates again on the same engine. */
export async function abortCase(ctx: GpuContext | null, o: Options, prompt: number[], after: number) {
  const engine = await createEngine({ ...o, gpu: ctx ?? undefined });
  try {
    const ac = new AbortController();
    const g = engine.generate(prompt, { greedy: true, maxTokens: 100, signal: ac.signal });
    let seen = 0;
    let error = '';
    try {
      for await (const _ of g) if (++seen === after) ac.abort();
    } catch (e) {
      error = e instanceof AbortError ? 'AbortError' : String(e);
    }
    const again = await engine.generate(prompt, { greedy: true, maxTokens: 20 }).result;
    return { seen, error, again: again.ids };
  } finally {
    engine.dispose();
  }
}

/** A generation continued by a second prompt equals one generation over the whole sequence. */
export async function continueCase(ctx: GpuContext | null, o: Options, first: number[], second: number[]) {
  const engine = await createEngine({ ...o, gpu: ctx ?? undefined });
  try {
    const a = await engine.generate(first, { greedy: true, maxTokens: 10 }).result;
    const b = await engine.generate(second, { greedy: true, maxTokens: 10, continue: true }).result;
    const whole = await engine.generate([...first, ...a.ids, ...second], { greedy: true, maxTokens: 10 }).result;
    return { continued: b.ids, whole: whole.ids, contextAfter: b.stats.promptTokens };
  } finally {
    engine.dispose();
  }
}

/** A prompt longer than the context is a ContextOverflowError before anything is generated. */
export async function overflowCase(ctx: GpuContext | null, o: Options, promptLength: number) {
  const engine = await createEngine({ ...o, gpu: ctx ?? undefined });
  try {
    await engine.generate(Array(promptLength).fill(1), { maxTokens: 5 }).result;
    return { error: null };
  } catch (e) {
    return { error: e instanceof ContextOverflowError ? 'ContextOverflowError' : String(e) };
  } finally {
    engine.dispose();
  }
}
