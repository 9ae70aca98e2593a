/** The chat demo (first version): load a model, generate with streamed text, stop. */
import { acquireDevice, createBackend, createTokenizer, generateIds, loadModel, NoWebGPUError, type Backend, type Tokenizer } from '../src/index';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = (text: string, error = false) => {
  $('status').textContent = text;
  $('status').className = error ? 'error' : 'muted';
};

let backend: Backend | null = null;
let tokenizer: Tokenizer | null = null;
let abort: AbortController | null = null;

async function listModels(): Promise<void> {
  const names: string[] = await fetch('/models/index.json').then((r) => (r.ok ? r.json() : []), () => []);
  $<HTMLSelectElement>('model').innerHTML = names.map((n) => `<option>${n}</option>`).join('') || '<option value="">(no local models folder)</option>';
}

async function load(): Promise<void> {
  const files = [...($<HTMLInputElement>('files').files ?? [])];
  const name = $<HTMLSelectElement>('model').value;
  const spec = files.length ? files : `${location.origin}/models/${name}`;
  backend?.dispose();
  backend = null;
  $<HTMLButtonElement>('go').disabled = true;
  const progress = $<HTMLProgressElement>('progress');
  progress.hidden = false;
  try {
    const model = await loadModel(spec, { onProgress: (p) => (progress.value = p.total ? p.loaded / p.total : 0) });
    tokenizer = createTokenizer(model.tokenizer, model.config.eosTokenIds);
    backend = await createBackend(model, $<HTMLSelectElement>('backend').value as 'cpu' | 'webgpu');
    status(`${model.config.architecture}, ${model.config.numLayers} layers, vocab ${model.config.vocabSize}, on ${backend.name}`);
    $<HTMLButtonElement>('go').disabled = false;
  } catch (e) {
    status(e instanceof NoWebGPUError ? `${e.message}. Choose the CPU reference backend.` : `Could not load the model: ${(e as Error).message}`, true);
  } finally {
    progress.hidden = true;
  }
}

async function generate(): Promise<void> {
  if (!backend || !tokenizer) return;
  abort = new AbortController();
  $<HTMLButtonElement>('go').disabled = true;
  $<HTMLButtonElement>('stop').disabled = false;
  const out = $('out');
  const prompt = $<HTMLTextAreaElement>('prompt').value;
  out.textContent = prompt;
  backend.reset();
  const ids = tokenizer.encode(prompt);
  const decoder = tokenizer.createDecoder(ids.at(-1));
  const temperature = Number($<HTMLInputElement>('temp').value);
  const t0 = performance.now();
  let n = 0;
  try {
    for await (const id of generateIds(backend, ids, { maxTokens: Number($<HTMLInputElement>('max').value), stopIds: tokenizer.eosIds, sampling: { temperature, greedy: temperature === 0, topP: 0.95 }, signal: abort.signal })) {
      n++;
      if (!tokenizer.eosIds.includes(id)) out.textContent += decoder.push(id);
      $('stats').textContent = `${n} tokens, ${((n * 1000) / (performance.now() - t0)).toFixed(1)} tokens/s`;
    }
    out.textContent += decoder.flush();
  } catch (e) {
    if ((e as Error).name !== 'AbortError') status((e as Error).message, true);
  } finally {
    $<HTMLButtonElement>('go').disabled = false;
    $<HTMLButtonElement>('stop').disabled = true;
  }
}

$('load').addEventListener('click', load);
$('go').addEventListener('click', generate);
$('stop').addEventListener('click', () => abort?.abort());
acquireDevice().then(
  ({ info }) => ($('device').textContent = `WebGPU: ${info.vendor} ${info.architecture}${info.isFallback ? ' (software)' : ''}`),
  (e: Error) => ($('device').textContent = e.message),
);
void listModels();
