/** The worker engine in a browser page: the same API and typed errors as the engine in the page. */
import { createWorkerEngine } from '../../src/engine/worker-engine';
import { ContextOverflowError, ModelFormatError, AbortError, LoadError } from '../../src/errors';
import type { GenerateOptions } from '../../src/engine/conversation';

export async function workerEngineCase(_ctx: unknown, o: { model: string; badModel: string; prompt: number[] }) {
  const progress: number[] = [];
  const engine = await createWorkerEngine({ model: o.model, kv: { policy: 'd2o', budget: 16 }, onProgress: (p) => progress.push(p.loaded) });
  try {
    const g = engine.generate(o.prompt, { greedy: true, maxTokens: 40, stopAtEos: false });
    const chunks: string[] = [];
    for await (const c of g) chunks.push(c.text);
    const r = await g.result;

    const ac = new AbortController();
    let aborted = '';
    // No end at EOS: a sampled EOS among the first tokens would end the stream before the abort.
    const long = engine.generate(o.prompt, { maxTokens: 400, stopAtEos: false, signal: ac.signal });
    let n = 0;
    try {
      for await (const _ of long) if (++n === 3) ac.abort();
    } catch (e) {
      aborted = e instanceof AbortError ? 'AbortError' : String(e);
    }

    const chat = await engine.chat.completions.create({ messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 10, temperature: 0 });
    // Under d2o a prompt far past the budget (and the model's 512 positions) is prefilled in chunks.
    const longPrompt = await engine.generate(Array(3000).fill(1), { maxTokens: 1, greedy: true }).result;
    // The full cache still has a limit: its typed error crosses the worker with its fields.
    const full = await createWorkerEngine({ model: o.model, kv: { policy: 'full' } });
    let overflow = '';
    try {
      await full.generate(Array(600).fill(1), { maxTokens: 1 }).result;
    } catch (e) {
      overflow = e instanceof ContextOverflowError ? `ContextOverflowError ${e.limit}` : String(e);
    } finally {
      full.dispose();
    }
    const stats = await engine.kvStats();
    const map = await engine.kvMap();
    const error = (p: Promise<unknown>) => p.then(() => '', (e: Error) => `${e.name}: ${e.message}`);
    const misuse = await error(engine.generate(o.prompt, { topP: 0 }).result);
    const chatMisuse = await error(engine.chat.completions.create({ messages: [{ role: 'user', content: 'x' }], n: 2 }));
    // Values the structured clone cannot copy: a RangeError naming them, the engine still usable after.
    const uncloneable = [
      await error(engine.chat.completions.create({ messages: [{ role: 'user', content: (() => 'x') as unknown as string }] })),
      await error(engine.generate(o.prompt, { maxTokens: 2, onToken: () => {} } as GenerateOptions).result),
    ];
    const parts = await engine.chat.completions.create({ messages: [{ role: 'user', content: [{ type: 'text', text: 'Once upon' }, { type: 'text', text: ' a time' }] }], max_tokens: 5, temperature: 0 });
    engine.dispose();
    const disposed = [await error(engine.kvStats()), await error(engine.generate(o.prompt).result)].map((m) => m.split(':')[0]);

    let badLoad = '';
    try {
      await createWorkerEngine({ model: o.badModel });
    } catch (e) {
      badLoad = e instanceof ModelFormatError ? `ModelFormatError ${e.problem}` : String(e);
    }
    return {
      name: engine.name,
      layers: engine.config.numLayers,
      progressReported: progress.length > 0,
      ids: r.ids,
      joined: chunks.join('') === r.text,
      evictions: r.stats.kv.layers.map((l) => l.evictions),
      aborted,
      abortedAfter: n,
      chatObject: chat.object,
      chatContent: chat.choices[0].message.content.length,
      overflow,
      longPrompt: { ids: longPrompt.ids.length, context: longPrompt.stats.kv.sequenceLength, held: Math.max(...longPrompt.stats.kv.layers.map((l) => l.occupancy)) },
      statsLayers: stats.layers.length,
      mapLayers: map.layers.length,
      mapKept: map.layers[0].kept.length,
      badLoad,
      misuse,
      chatMisuse,
      uncloneable,
      partsChat: parts.choices[0].message.content === chat.choices[0].message.content.slice(0, parts.choices[0].message.content.length),
      disposed,
    };
  } finally {
    engine.dispose();
  }
}

/** A worker whose script never loads (a bundler that did not emit it): a LoadError that says so. */
export async function workerStartCase() {
  try {
    await createWorkerEngine({ model: 'unused' }, new Worker('/no-such-dir/no-such-worker.js', { type: 'module' }));
    return null;
  } catch (e) {
    return { name: (e as Error).name, isLoadError: e instanceof LoadError, message: (e as Error).message };
  }
}

/**
 * A .gguf picked alone (no tokenizer.json): the worker tokenizes with the file's own metadata.
 * Greedy from the empty text (BOS alone) and one chat completion.
 */
export async function workerLoneGgufCase(_ctx: unknown, o: { url: string; steps: number }) {
  const bytes = await (await fetch(o.url)).arrayBuffer();
  const engine = await createWorkerEngine({ model: [new File([bytes], 'tinystories-656k-q8_0.gguf')] });
  try {
    const r = await engine.generate('', { greedy: true, maxTokens: o.steps, stopAtEos: false }).result;
    const chat = await engine.chat.completions.create({ messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 4, temperature: 0 });
    return { text: r.text, ids: r.ids, chatTokens: chat.usage?.prompt_tokens ?? 0 };
  } finally {
    engine.dispose();
  }
}
