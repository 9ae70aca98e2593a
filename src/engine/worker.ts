/**
 * The engine inside a Web Worker: the page talks to it through createWorkerEngine, so loading,
 * GPU submission and tokenization never block the page. One engine per worker.
 */
import { createEngine, type Engine } from './engine';
import { serializeError, type FromWorker, type ToWorker } from './worker-protocol';

const scope = self as unknown as { postMessage(m: FromWorker): void; onmessage: ((e: MessageEvent<ToWorker>) => void) | null };
const post = (m: FromWorker) => scope.postMessage(m);
let engine: Engine | null = null;
const aborts = new Map<number, AbortController>();

async function handle(m: ToWorker): Promise<void> {
  switch (m.t) {
    case 'create': {
      engine = await createEngine({ ...m.options, onProgress: (progress) => post({ t: 'progress', progress }) });
      post({ t: 'ready', name: engine.name, config: engine.config, hasChatTemplate: engine.hasChatTemplate, samplingDefaults: engine.samplingDefaults });
      return;
    }
    case 'dispose':
      engine?.dispose();
      engine = null;
      return;
    case 'abort':
      aborts.get(m.id)?.abort();
      return;
  }
  if (!engine) throw new Error('the engine is not created');
  const ac = new AbortController();
  aborts.set(m.id, ac);
  try {
    if (m.t === 'call') {
      post({ t: 'done', id: m.id, value: await engine[m.method]() });
    } else if (m.t === 'generate') {
      const g = engine.generate(m.prompt, { ...m.options, signal: ac.signal });
      for await (const chunk of g) post({ t: 'chunk', id: m.id, chunk });
      post({ t: 'done', id: m.id, value: await g.result });
    } else {
      const s = await engine.chat.completions.create({ ...m.req, stream: true }, { signal: ac.signal });
      for await (const chunk of s) post({ t: 'chunk', id: m.id, chunk });
      post({ t: 'done', id: m.id, value: await s.result });
    }
  } finally {
    aborts.delete(m.id);
  }
}

scope.onmessage = (e) => {
  const m = e.data;
  handle(m).catch((error: unknown) => post({ t: 'error', id: 'id' in m ? m.id : null, error: serializeError(error) }));
};
