/**
 * The evaluation in a browser page, to show src/eval/ runs there unchanged: served by Vite with the
 * shared models at /models/ (`npx vite --config vite.config.ts`, then open /bench/eval-page/). When
 * done, body[data-state] is "done" (or "failed") and window.evalResult holds what eval.json would.
 */
import storiesText from '../eval-texts/stories.txt?raw';
import { runSuite } from '../../src/eval/suite';
import { parseStories } from '../../src/eval/story-ids';
import { evalCharts } from '../../src/eval/eval-report';
import { loadModel } from '../../src/model/load';
import { CpuBackend } from '../../src/cpu/backend';
import { WebGpuBackend } from '../../src/gpu/backend';
import { acquireDevice } from '../../src/gpu/device';
import type { ModelEval } from '../../src/eval/evaluate';

declare global {
  interface Window {
    evalResult?: { backend: string; quick: boolean; models: ModelEval[]; text: string };
  }
}

const params = new URLSearchParams(location.search);
const quick = params.get('full') !== '1';
const backend = params.get('backend') ?? 'webgpu';
const log = (line: string) => (document.getElementById('log')!.textContent += line + '\n');

async function main(): Promise<void> {
  const ctx = backend === 'webgpu' ? await acquireDevice() : null;
  const { models, text } = await runSuite({
    quick,
    stories: parseStories(storiesText),
    // A URL folder cannot be listed: name the llama2.c checkpoint and its tokenizer.
    load: (m) => loadModel(new URL(`/models/${m.dir}/${m.file ?? ''}`, location.href).href, { tokenizerPath: m.tokenizer }),
    backends: (model) => (policy) =>
      ctx ? WebGpuBackend.create(model, { ctx, policy }) : Promise.resolve(new CpuBackend(model, { policy })),
    log,
  });
  window.evalResult = { backend, quick, models, text };
  document.getElementById('charts')!.innerHTML = models.flatMap(evalCharts).map((c) => c.svg).join('');
  document.getElementById('result')!.textContent = JSON.stringify(window.evalResult, null, 1);
  document.body.dataset.state = 'done';
}

main().catch((e: unknown) => {
  log(`failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  document.body.dataset.state = 'failed';
});
