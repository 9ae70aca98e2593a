/**
 * The chat demo: pick a model and a KV policy, chat with streamed replies, and watch what the
 * policy does to the cache. This file owns the state (engine, history, the generation in flight)
 * and wires the views together; each view lives in its own file.
 */
import { AbortError, SINKS, type ChatMessage, type KvOptions, type PolicyName } from '../src/index';
import { ChatView, type Reply } from './chat';
import { openEngine, type DemoEngine } from './engine';
import { explainError, renderNotice } from './explain';
import { formatBytes, formatRate } from './format';
import { KvMapView } from './kv-map';
import { ModelPicker } from './model-picker';
import { Poller } from './poller';
import { StatsView } from './stats';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

const POLICY_HINTS: Record<PolicyName, string> = {
  d2o: 'Evicts the least-attended tokens, sizes each layer’s budget from its attention variance, and merges evicted tokens into the most similar kept ones.',
  'd2o-no-merge': 'D2O’s per-layer budgets; evicted tokens are dropped instead of merged.',
  'd2o-uniform': 'The same budget for every layer; evicted tokens are merged.',
  pyramidkv: 'PyramidKV: budgets shrink linearly from the first layer to the last; H2O eviction, no merging.',
  h2o: 'Keeps the heavy hitters (most-attended tokens) and a window of recent ones.',
  streaming: 'Keeps the first tokens (attention sinks) and a window of recent ones.',
  full: 'Keeps every token: memory grows with the conversation, up to the model’s context.',
};

// Views.
const picker = new ModelPicker($('setup'), () => refreshLoadButton());
const chat = new ChatView($('messages'), (text) => {
  prompt.value = text;
  void send();
});
const stats = new StatsView($('stats'), $('layer-chart'));
const kvMap = new KvMapView($<HTMLCanvasElement>('kv-map'), $('kv-map-empty'), $('kv-map-end'));
const prompt = $<HTMLTextAreaElement>('prompt');
const loadButton = $<HTMLButtonElement>('load');
const sendButton = $<HTMLButtonElement>('send');
const stopButton = $<HTMLButtonElement>('stop');
const policy = $<HTMLSelectElement>('policy');
const budget = $<HTMLInputElement>('budget');
const budgetUnit = $<HTMLSelectElement>('budget-unit');
const backend = $<HTMLSelectElement>('backend');

// State.
let engine: DemoEngine | null = null;
/** The settings the engine was created with, to tell when Load would change something. */
let loadedKey = '';
let loadedLabel = '';
let loading: AbortController | null = null;
let generating: AbortController | null = null;
let history: ChatMessage[] = [];

/** The body's data-state tells tests (and CSS) what the page is doing. */
function setState(state: 'idle' | 'loading' | 'ready' | 'generating'): void {
  document.body.dataset.state = state;
  const ready = state === 'ready';
  prompt.disabled = !(ready || state === 'generating');
  prompt.placeholder = engine ? 'Write a message… (Enter to send, Shift+Enter for a new line)' : 'Load a model to start chatting';
  sendButton.disabled = !ready;
  sendButton.hidden = state === 'generating';
  stopButton.hidden = state !== 'generating';
  $<HTMLButtonElement>('new-chat').disabled = !ready;
  for (const b of document.querySelectorAll<HTMLButtonElement>('.suggestions button')) b.disabled = !ready;
  picker.setDisabled(state === 'loading' || state === 'generating');
  for (const el of [policy, budget, budgetUnit, backend]) el.disabled = state === 'loading' || state === 'generating';
  loadButton.disabled = state === 'generating';
  refreshLoadButton();
}

// ---- Settings ---------------------------------------------------------------------------------

/** The KV options from the form; a RangeError names what is wrong. */
function kvOptions(): KvOptions {
  const name = policy.value as PolicyName;
  if (name === 'full') return { policy: 'full' };
  const v = Number(budget.value);
  if (budgetUnit.value === '%') {
    if (!(v > 0 && v <= 100)) throw new RangeError(`a budget in percent is between 1 and 100, got ${budget.value || 'nothing'}`);
    return { policy: name, budget: `${v}%` };
  }
  if (!(Number.isInteger(v) && v > SINKS)) throw new RangeError(`a budget in tokens per layer is a whole number above ${SINKS}, got ${budget.value || 'nothing'}`);
  return { policy: name, budget: v };
}

function settingsKey(): string {
  const c = picker.choice();
  const model = 'missing' in c ? '' : typeof c.spec === 'string' ? c.spec : `files:${c.label}`;
  return [model, policy.value, budget.value, budgetUnit.value, backend.value].join('|');
}

function policySummary(): string {
  if (policy.value === 'full') return 'full cache';
  const opt = policy.selectedOptions[0]?.textContent?.split(':')[0] ?? policy.value;
  return `${opt}, ${budget.value}${budgetUnit.value === '%' ? '% of the prompt' : ' tokens/layer'}`;
}

function refreshLoadButton(): void {
  if (loading) {
    loadButton.textContent = 'Cancel';
    loadButton.className = 'button secondary wide';
    return;
  }
  const same = engine !== null && settingsKey() === loadedKey;
  loadButton.textContent = engine === null ? 'Load model' : same ? 'Reload model' : 'Load with these settings';
  loadButton.className = `button ${same ? 'secondary' : 'primary'} wide`;
}

function refreshPolicyHint(): void {
  $('policy-hint').textContent = POLICY_HINTS[policy.value as PolicyName] ?? '';
  $('budget-row').hidden = policy.value === 'full';
}

// ---- Loading ----------------------------------------------------------------------------------

const progress = {
  show(ratio: number | null, text: string) {
    $('progress').hidden = false;
    const fill = $('progress-fill');
    fill.classList.toggle('indeterminate', ratio === null);
    if (ratio !== null) fill.style.width = `${(ratio * 100).toFixed(1)}%`;
    $('progress-text').textContent = text;
  },
  hide() {
    $('progress').hidden = true;
  },
};

function loadStatus(content: string | HTMLElement, ok = false): void {
  const box = $('load-status');
  box.className = `status${ok ? ' ok' : ''}`;
  box.replaceChildren(content);
}

function closeEngine(): void {
  generating?.abort();
  engine?.dispose();
  engine = null;
  loadedKey = '';
  history = [];
  stats.clear();
  kvMap.clear();
}

async function load(): Promise<void> {
  // While loading, the button cancels.
  if (loading) return loading.abort();
  const choice = picker.choice();
  if ('missing' in choice) return loadStatus(choice.missing);
  let kv: KvOptions;
  try {
    kv = kvOptions();
  } catch (e) {
    return loadStatus(renderNotice(explainError(e, 'load')));
  }
  // One model at a time: free the GPU memory of the last one before the next arrives.
  closeEngine();
  const key = settingsKey();
  const ac = (loading = new AbortController());
  setState('loading');
  loadStatus('');
  chat.showEmpty({ kind: 'loading', label: choice.label });
  progress.show(null, 'Starting…');
  const t0 = performance.now();
  try {
    const e = await openEngine({
      model: choice.spec,
      tokenizerPath: choice.tokenizerPath,
      backend: backend.value as 'webgpu' | 'cpu',
      kv,
      signal: ac.signal,
      onProgress: ({ file, loaded, total }) => {
        const name = file.split('/').pop() ?? file;
        if (total > 0 && loaded >= total) progress.show(null, `Preparing the model on the ${backend.value === 'cpu' ? 'CPU' : 'GPU'}…`);
        else progress.show(total > 0 ? loaded / total : null, `${name}: ${formatBytes(loaded)}${total > 0 ? ` of ${formatBytes(total)}` : ''}`);
      },
    });
    if (ac.signal.aborted) {
      e.dispose();
      throw new AbortError('loading aborted');
    }
    engine = e;
    loadedKey = key;
    loadedLabel = choice.label;
    const c = e.config;
    $('model-info').textContent = `${choice.label} · ${c.numLayers} layers, ${c.hiddenSize} wide · ${policySummary()}`;
    $('setup-summary-text').textContent = `${choice.label} · ${policySummary()}`;
    loadStatus(`Loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s on ${backend.value === 'cpu' ? 'the CPU' : 'WebGPU'}${e.where === 'worker' ? ' (in a worker)' : ''}.`, true);
    chat.showEmpty({ kind: 'ready', label: choice.label, storyModel: !e.hasChatTemplate });
    $('setup').classList.add('folded');
    setState('ready');
    prompt.focus({ preventScroll: true });
  } catch (e) {
    const x = explainError(e, 'load');
    if (ac.signal.aborted || e instanceof AbortError) loadStatus('Loading cancelled.');
    else loadStatus(renderNotice(x));
    $('model-info').textContent = 'No model loaded';
    chat.showEmpty({ kind: 'no-model' });
    setState('idle');
  } finally {
    loading = null;
    progress.hide();
    refreshLoadButton();
  }
}

// ---- Chatting ---------------------------------------------------------------------------------

/** Reads the KV statistics and map of the engine that is current when the read was asked for. */
const poller = new Poller(async () => {
  const e = engine;
  if (!e) return;
  const s = await e.kvStats();
  const m = await e.kvMap();
  if (e !== engine) return;
  stats.kv(s);
  kvMap.draw(m);
});

function sampling() {
  const num = (id: string, fallback: number) => {
    const v = Number($<HTMLInputElement>(id).value);
    return Number.isFinite(v) ? v : fallback;
  };
  return {
    maxTokens: Math.max(1, Math.round(num('max-tokens', 200))),
    temperature: Math.max(0, num('temperature', 0.7)),
    topP: Math.min(1, Math.max(0.01, num('top-p', 0.95))),
  };
}

async function send(): Promise<void> {
  const text = prompt.value.trim();
  const e = engine;
  if (!text || !e || generating || loading) return;
  prompt.value = '';
  autoGrow();
  history.push({ role: 'user', content: text });
  chat.addUser(text);
  // Story models continue the text: show the opening faded in front of the continuation.
  const reply: Reply = chat.addReply(e.hasChatTemplate ? undefined : text);
  const ac = (generating = new AbortController());
  setState('generating');
  const t0 = performance.now();
  let chunks = 0;
  try {
    const turn = e.reply(history, { ...sampling(), signal: ac.signal });
    for await (const delta of turn.deltas) {
      reply.append(delta);
      stats.live(++chunks, (performance.now() - t0) / 1000);
      poller.poke();
    }
    const r = await turn.result;
    history.push({ role: 'assistant', content: r.text });
    const s = r.stats;
    const why = r.finishReason === 'length' ? 'reached max tokens' : e.hasChatTemplate ? 'done' : 'end of story';
    const reuse = r.cachedTokens > 0 ? ` · ${r.cachedTokens} tokens reused from the cache` : r.continued ? ' · continued on the compressed cache' : '';
    reply.finish(`${s.completionTokens} tokens · ${formatRate(s.decodeTokensPerSecond)} tokens/s · ${why}${reuse}`, 'done');
    stats.generation(s);
  } catch (err) {
    if (ac.signal.aborted || err instanceof AbortError) {
      // Keep what was written: the next turn builds on it.
      history.push({ role: 'assistant', content: reply.text() });
      reply.finish(`stopped after ${chunks} tokens`, 'stopped');
    } else {
      const x = explainError(err, 'generate');
      // The failed turn is not part of the conversation.
      history.pop();
      reply.fail(renderNotice(x));
      if (x.fatal) {
        closeEngine();
        $('model-info').textContent = 'No model loaded';
        loadStatus(renderNotice(x));
      }
    }
  } finally {
    generating = null;
    setState(engine ? 'ready' : 'idle');
  }
  // The final picture of the cache (the last token's eviction and merges included).
  if (engine === e) await poller.flush();
}

async function newChat(): Promise<void> {
  if (!engine || generating) return;
  history = [];
  await engine.reset();
  stats.clear();
  kvMap.clear();
  chat.showEmpty({ kind: 'ready', label: loadedLabel, storyModel: !engine.hasChatTemplate });
  setState('ready');
}

function autoGrow(): void {
  prompt.style.height = 'auto';
  prompt.style.height = `${Math.min(prompt.scrollHeight + 2, 160)}px`;
}

// ---- WebGPU check -----------------------------------------------------------------------------

/** Says up front whether WebGPU is there (an adapter only: the engine makes its own device). */
async function checkWebGpu(): Promise<void> {
  const badge = $('device');
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  let adapter: GPUAdapter | null = null;
  let why = '';
  if (!gpu) why = window.isSecureContext ? 'This browser has no WebGPU.' : 'WebGPU needs a secure page (https, or http://localhost).';
  else {
    adapter = await gpu.requestAdapter().catch(() => null);
    if (!adapter) why = 'The browser offers WebGPU but found no usable GPU adapter (it may be blocklisted or disabled).';
  }
  if (adapter) {
    const info = adapter.info;
    const software = (info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter || /swiftshader|llvmpipe|lavapipe/i.test(`${info.vendor} ${info.architecture} ${info.description}`);
    badge.textContent = `WebGPU · ${[info.vendor, info.architecture].filter(Boolean).join(' ') || 'GPU'}${software ? ' (software)' : ''}`;
    badge.className = 'badge ok';
    return;
  }
  badge.textContent = 'No WebGPU';
  badge.className = 'badge bad';
  backend.value = 'cpu';
  const banner = $('banner');
  const title = document.createElement('strong');
  title.textContent = 'WebGPU is not available here';
  banner.replaceChildren(
    title,
    `${why} Models will run on the CPU reference backend instead, which is much slower; for real speed use a recent Chrome, Edge or Safari on a machine with a GPU.`,
  );
  banner.hidden = false;
  refreshLoadButton();
}

// ---- Wiring -----------------------------------------------------------------------------------

loadButton.addEventListener('click', () => void load());
stopButton.addEventListener('click', () => generating?.abort());
$('new-chat').addEventListener('click', () => void newChat());
$('unfold-setup').addEventListener('click', () => $('setup').classList.remove('folded'));
$('composer').addEventListener('submit', (ev) => {
  ev.preventDefault();
  void send();
});
prompt.addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
    ev.preventDefault();
    void send();
  }
});
prompt.addEventListener('input', autoGrow);
policy.addEventListener('change', () => {
  refreshPolicyHint();
  refreshLoadButton();
});
for (const el of [budget, budgetUnit, backend]) el.addEventListener('input', refreshLoadButton);
// A budget unit change proposes a sensible number for it.
budgetUnit.addEventListener('change', () => {
  budget.value = budgetUnit.value === '%' ? '20' : '64';
  budget.min = budgetUnit.value === '%' ? '1' : '5';
  refreshLoadButton();
});

refreshPolicyHint();
chat.showEmpty({ kind: 'no-model' });
setState('idle');
void Promise.all([picker.init(), checkWebGpu()]).finally(() => (document.body.dataset.ready = 'true'));
