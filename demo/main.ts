/**
 * The chat demo: pick a model and a KV policy, chat with streamed replies, and watch what the
 * policy does to the cache. This file owns the state (engine, history, the generation in flight)
 * and wires the views together; each view lives in its own file.
 */
import { AbortError, resolvePolicy, SINKS, type ChatMessage, type KvMap, type KvOptions, type KvStats, type PolicyName } from '../src/index';
import { ChatView, type Reply } from './chat';
import { openEngine, type DemoEngine, type TurnResult } from './engine';
import { explainError, renderNotice, type Setting } from './explain';
import { formatBytes, formatRate } from './format';
import { formatPositions, percent } from './kv-figures';
import { KvMapView } from './kv-map';
import { LayerChart } from './layer-chart';
import { ModelPicker } from './model-picker';
import { Poller } from './poller';
import { POLICY_NAMES, StatsView, type BudgetRequest } from './stats';
import { showSamplingDefaults } from './sampling-defaults';

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

/** What the page offers a story model that ended its story: an opening it continues from. */
const STORY_OPENER = 'One day,';

function excerpt(text: string, n: number): string {
  return text.length <= n ? text : `${text.slice(0, n).trimEnd()}…`;
}

// Views.
const picker = new ModelPicker($('setup'), () => refreshLoadButton());
const chat = new ChatView($('messages'), (text) => {
  prompt.value = text;
  void send();
});
const stats = new StatsView($('stats'));
const chart = new LayerChart($('layer-chart'), $('chart-axis'), $('layer-table'));
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
/** What the engine was created with: to tell when Load would change something, and to say what the chat runs. */
let loaded: { key: string; label: string; setting: Setting; budget: BudgetRequest | null } | null = null;
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
  $('jump-stats').hidden = engine === null;
  refreshLoadButton();
}

// ---- Settings ---------------------------------------------------------------------------------

/**
 * The KV options from the form, checked by the library's own `resolvePolicy`; a RangeError says what
 * is wrong in the page's words (the form fixes everything but the budget, so the budget is what failed).
 */
function kvOptions(): KvOptions {
  const name = policy.value as PolicyName;
  if (name === 'full') return { policy: 'full' };
  const percent = budgetUnit.value === '%';
  const kv: KvOptions = { policy: name, budget: `${budget.value.trim()}${percent ? '%' : ''}` };
  try {
    resolvePolicy(kv);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    const got = budget.value || 'nothing';
    throw new RangeError(percent ? `a budget in percent is between 1 and 100, got ${got}` : `a budget in tokens per layer is a whole number above ${SINKS}, got ${got}`);
  }
  return kv;
}

function settingsKey(): string {
  const c = picker.choice();
  const model = 'missing' in c ? '' : typeof c.spec === 'string' ? c.spec : `files:${c.spec.map((f) => f.name).join(',')}`;
  return [model, policy.value, budget.value, budgetUnit.value, backend.value].join('|');
}

/** The policy and budget as the page words them, e.g. "D2O, 32 tokens per layer". */
function policySummary(): string {
  if (policy.value === 'full') return 'the full cache';
  return `${POLICY_NAMES[policy.value] ?? policy.value}, ${budget.value}${budgetUnit.value === '%' ? '% of the first prompt' : ' tokens per layer'}`;
}

function refreshLoadButton(): void {
  const note = $('settings-note');
  if (loading) {
    loadButton.textContent = 'Cancel';
    loadButton.className = 'button secondary wide';
    note.hidden = true;
    return;
  }
  const same = engine !== null && loaded !== null && settingsKey() === loaded.key;
  loadButton.textContent = engine === null ? 'Load model' : same ? 'Reload model' : 'Load with these settings';
  loadButton.className = `button ${same ? 'secondary' : 'primary'} wide`;
  // Say what the chat runs now, when the form says something else.
  note.hidden = engine === null || same || !loaded;
  if (loaded && !note.hidden)
    note.textContent =
      `This chat runs ${loaded.label} with ${loaded.setting.summary}. The settings above apply when you load` +
      (history.length ? ': that starts a new chat, and this one stays until the new model is ready.' : '.');
}

function refreshPolicyHint(): void {
  $('policy-hint').textContent = POLICY_HINTS[policy.value as PolicyName] ?? '';
  $('budget-row').hidden = policy.value === 'full';
  $('budget-hint').hidden = policy.value === 'full';
  $('budget-hint').textContent =
    budgetUnit.value === '%'
      ? 'A share of the first prompt, fixed once it is read: 20% of a 5-token opening is 5 tokens per layer (the least a layer holds), so for short chats use tokens per layer.'
      : policy.value.startsWith('d2o') && policy.value !== 'd2o-uniform'
        ? 'Tokens each layer keeps on average; D2O gives layers with more varied attention a larger share. Nothing is evicted until the conversation is longer.'
        : 'Tokens each layer keeps. Nothing is evicted until the conversation is longer.';
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

/** A failure message, and when a model is still loaded, that the chat goes on with it. */
function loadFailed(content: string | HTMLElement): void {
  const box = document.createElement('div');
  box.append(content);
  if (engine && loaded) {
    const p = document.createElement('p');
    p.className = 'kept';
    p.textContent = `${loaded.label} (${loaded.setting.summary}) is still loaded: your chat goes on.`;
    box.append(p);
  }
  loadStatus(box);
}

/** Forgets the conversation (the engine stays). */
function clearConversation(): void {
  history = [];
  clearConversationViews();
}

function clearConversationViews(): void {
  stats.clear(loaded?.budget ?? null);
  chart.clear();
  kvMap.clear();
  $('mini-stats-text').textContent = 'No conversation yet';
}

/** Load: asks first when a conversation would be replaced. */
function requestLoad(): void {
  // While loading, the button cancels.
  if (loading) return loading.abort();
  const choice = picker.choice();
  if ('missing' in choice) return loadFailed(choice.missing);
  if (!history.length || !loaded) return void load();
  $('load-confirm-text').textContent =
    `Loading ${choice.label} with ${policySummary()} starts a new chat. This chat (${history.length} messages, ${loaded.label} with ${loaded.setting.summary}) ` +
    'stays until the new model is ready, and stays if loading fails.';
  $('load-confirm').hidden = false;
  $('load-confirm-yes').focus();
}

function closeConfirm(): void {
  $('load-confirm').hidden = true;
}

async function load(): Promise<void> {
  closeConfirm();
  const choice = picker.choice();
  if ('missing' in choice) return loadFailed(choice.missing);
  let kv: KvOptions;
  try {
    kv = kvOptions();
  } catch (e) {
    return loadFailed(renderNotice(explainError(e, 'load')));
  }
  const key = settingsKey();
  const setting: Setting = { policy: kv.policy ?? 'd2o', summary: policySummary() };
  const request: BudgetRequest | null = kv.policy === 'full' ? null : { unit: budgetUnit.value === '%' ? '%' : 'tokens', value: Number(budget.value) };
  const ac = (loading = new AbortController());
  setState('loading');
  loadStatus('');
  // The conversation stays on screen (and in memory) until the new model is ready.
  if (!engine) chat.showEmpty({ kind: 'loading', label: choice.label });
  progress.show(null, 'Starting…');
  const where = backend.value === 'cpu' ? 'CPU' : 'GPU';
  const t0 = performance.now();
  let next: DemoEngine | null = null;
  try {
    next = await openEngine({
      model: choice.spec,
      tokenizerPath: choice.tokenizerPath,
      backend: backend.value as 'webgpu' | 'cpu',
      kv,
      signal: ac.signal,
      onProgress: ({ file, loaded: got, total }) => {
        const name = file.split('/').pop() ?? file;
        if (total > 0 && got >= total) progress.show(null, `Preparing the model on the ${where}…`);
        else progress.show(total > 0 ? got / total : null, `${name}: ${formatBytes(got)}${total > 0 ? ` of ${formatBytes(total)}` : ''}`);
      },
    });
    const loadSeconds = (performance.now() - t0) / 1000;
    if (ac.signal.aborted) throw new AbortError('loading aborted');
    progress.show(null, backend.value === 'cpu' ? 'Warming up…' : 'Warming up the GPU (compiling its programs, once)…');
    const warm = await next.warmUp();
    if (ac.signal.aborted) throw new AbortError('loading aborted');
    // The new model is ready: only now does the old one go, with its conversation.
    engine?.dispose();
    engine = next;
    next = null;
    showSamplingDefaults(engine.samplingDefaults);
    loaded = { key, label: choice.label, setting, budget: request };
    clearConversation();
    const c = engine.config;
    $('model-info').textContent = `${choice.label} · ${c.numLayers} layers, ${c.hiddenSize} wide · ${setting.summary}`;
    $('setup-summary-text').textContent = `${choice.label} · ${setting.summary}`;
    const tooBig = request?.unit === 'tokens' && request.value >= c.maxPositionEmbeddings;
    loadStatus(
      `Loaded ${choice.label} in ${loadSeconds.toFixed(1)} s on ${backend.value === 'cpu' ? 'the CPU' : 'WebGPU'}${engine.where === 'worker' ? ' (in a worker)' : ''}; ` +
        `${where} warm-up ${warm.toFixed(1)} s, not counted in the reply speeds.` +
        (choice.note ? ` ${choice.note}` : '') +
        (tooBig ? ` The budget (${request.value}) is not below the model’s whole context (${c.maxPositionEmbeddings} tokens): nothing will ever be evicted.` : ''),
      true,
    );
    chat.showEmpty({ kind: 'ready', label: choice.label, storyModel: !engine.hasChatTemplate });
    $('setup').classList.add('folded');
    setState('ready');
    prompt.focus({ preventScroll: true });
  } catch (e) {
    next?.dispose();
    if (ac.signal.aborted || e instanceof AbortError) loadFailed('Loading cancelled.');
    else loadFailed(renderNotice(explainError(e, 'load')));
    if (!engine) {
      $('model-info').textContent = 'No model loaded';
      chat.showEmpty({ kind: 'no-model' });
    }
    setState(engine ? 'ready' : 'idle');
  } finally {
    loading = null;
    progress.hide();
    refreshLoadButton();
  }
}

// ---- Chatting ---------------------------------------------------------------------------------

/** The statistics, the chart, the map and the phone's summary line, from one read. */
function showKv(s: KvStats, m: KvMap | null): void {
  if (s.sequenceLength === 0) return clearConversationViews();
  const f = stats.kv(s);
  chart.draw(f);
  if (m) kvMap.draw(m);
  $('mini-stats-text').textContent =
    f.context === 0 ? 'No conversation yet' : `${formatPositions(f.context)} tokens · holds ${formatPositions(f.held)} per layer · ${f.policy === 'full' ? 'full cache' : `saves ${percent(f.bytesFull - f.bytesHeld, f.bytesFull)}`}`;
}

/** Reads the KV statistics and map of the engine that is current when the read was asked for. */
const poller = new Poller(async () => {
  const e = engine;
  if (!e) return;
  const s = await e.kvStats();
  const m = await e.kvMap();
  if (e !== engine) return;
  showKv(s, m);
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

/** The line under a reply: length, speed, why it ended, and how it met the cache, true for the policy it ran. */
function replyMeta(r: TurnResult, e: DemoEngine, setting: Setting): string {
  const s = r.stats;
  const why = r.finishReason === 'length' ? 'reached max tokens' : e.hasChatTemplate ? 'done' : 'the model ended the story';
  const cache = setting.policy === 'full' ? 'cache (full: every token kept)' : `compressed cache (${setting.summary})`;
  const how =
    r.cachedTokens > 0
      ? ` · ${r.cachedTokens} tokens reused from the ${cache}`
      : r.story === 'continued'
        ? ` · continued on the ${cache}`
        : r.story === 'reread'
          ? ` · the model had ended the story, so it was read again (${s.promptTokens} tokens) into a fresh ${cache}`
          : '';
  return `${s.completionTokens} tokens · ${formatRate(s.decodeTokensPerSecond)} tokens/s · ${why}${how}`;
}

/**
 * The final picture of the cache (the last token's eviction and merges included), drawn before the
 * turn is shown as over: a read still in flight from the stream lands first, so what the panel
 * shows once the page says 'ready' is the final state, not a stale one.
 */
async function finalPicture(e: DemoEngine): Promise<void> {
  if (engine === e) await poller.flush();
}

async function send(): Promise<void> {
  const text = prompt.value.trim();
  const e = engine;
  if (!text || !e || !loaded || generating || loading) return;
  const setting = loaded.setting;
  closeConfirm();
  prompt.value = '';
  $('attached').hidden = true;
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
    stats.generation(r.stats);
    showKv(r.stats.kv, null);
    await finalPicture(e);
    // A story model that wrote only its end marker: say so, and offer a line that opens something.
    const ended = !e.hasChatTemplate && r.finishReason === 'stop' && reply.shown().trim() === '';
    if (ended)
      reply.finish(
        replyMeta(r, e, setting),
        'ended',
        `The model ended the story here: after “${excerpt(text, 60)}” it wrote its end-of-story marker and nothing else. A line that opens something new gives it somewhere to go.`,
        { label: `Continue with “${STORY_OPENER}”`, run: () => ((prompt.value = STORY_OPENER), void send()) },
      );
    else reply.finish(replyMeta(r, e, setting), 'done');
  } catch (err) {
    if (ac.signal.aborted || err instanceof AbortError) {
      // Keep what was written: the next turn builds on it.
      history.push({ role: 'assistant', content: reply.text() });
      await finalPicture(e);
      reply.finish(`stopped after ${chunks} tokens`, 'stopped');
    } else {
      const x = explainError(err, 'generate', setting);
      // The failed turn is not part of the conversation; its text goes back to the box to edit and resend.
      history.pop();
      if (!prompt.value) {
        prompt.value = text;
        autoGrow();
      }
      // A lost device has no picture to read.
      if (!x.fatal) await finalPicture(e);
      reply.fail(renderNotice(x));
      if (x.fatal) {
        engine?.dispose();
        engine = null;
        loaded = null;
        clearConversation();
        $('model-info').textContent = 'No model loaded';
        loadStatus(renderNotice(x));
      }
    }
  } finally {
    generating = null;
    // Stop (or Esc) hid the focused button: keep the keyboard in the conversation.
    const lost = document.activeElement === stopButton || document.activeElement === document.body || document.activeElement === null;
    setState(engine ? 'ready' : 'idle');
    if (lost && engine) prompt.focus({ preventScroll: true });
  }
}

async function newChat(): Promise<void> {
  const e = engine;
  if (!e || generating) return;
  // The page forgets at once: clearing after the reset's round trip would wipe a message sent
  // meanwhile. The engine runs its calls in order, so that message still meets the reset cache.
  clearConversation();
  chat.showEmpty({ kind: 'ready', label: loaded?.label ?? '', storyModel: !e.hasChatTemplate });
  setState('ready');
  await e.reset();
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

loadButton.addEventListener('click', requestLoad);
$('load-confirm-yes').addEventListener('click', () => void load());
$('load-confirm-no').addEventListener('click', () => {
  closeConfirm();
  loadButton.focus();
});
stopButton.addEventListener('click', () => generating?.abort());
// Esc stops a reply wherever the focus is (and closes the load question).
document.addEventListener('keydown', (ev) => {
  if (ev.key !== 'Escape') return;
  if (generating) {
    ev.preventDefault();
    generating.abort();
  } else if (!$('load-confirm').hidden) {
    closeConfirm();
    loadButton.focus();
  }
});
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
// A long document, attached or dropped, goes into the message box (sent as the user chooses).
async function attachText(files: FileList | null): Promise<void> {
  const file = files?.[0];
  if (!file) return;
  const text = await file.text();
  prompt.value = prompt.value.trim() ? `${prompt.value.trimEnd()}\n\n${text}` : text;
  autoGrow();
  const note = $('attached');
  note.textContent = `${file.name}: ${text.length.toLocaleString('en')} characters in the message box. Under a compressing policy a text of any length is read in chunks of 512 tokens, each compressed into the budget, so KV memory stays flat.`;
  note.hidden = false;
  prompt.focus({ preventScroll: true });
}
const attach = $<HTMLInputElement>('attach');
attach.addEventListener('change', () => void attachText(attach.files).finally(() => (attach.value = '')));
const composer = $('composer');
composer.addEventListener('dragover', (ev) => {
  if (!ev.dataTransfer?.types.includes('Files')) return;
  ev.preventDefault();
  composer.classList.add('dropping');
});
composer.addEventListener('dragleave', () => composer.classList.remove('dropping'));
composer.addEventListener('drop', (ev) => {
  if (!ev.dataTransfer?.files.length) return;
  ev.preventDefault();
  composer.classList.remove('dropping');
  void attachText(ev.dataTransfer.files);
});
policy.addEventListener('change', () => {
  refreshPolicyHint();
  refreshLoadButton();
});
for (const el of [policy, budget, budgetUnit, backend]) el.addEventListener('change', closeConfirm);
for (const el of [budget, budgetUnit, backend]) el.addEventListener('input', refreshLoadButton);
// A budget unit change proposes a sensible number for it.
budgetUnit.addEventListener('change', () => {
  budget.value = budgetUnit.value === '%' ? '20' : '64';
  budget.min = budgetUnit.value === '%' ? '1' : '5';
  refreshPolicyHint();
  refreshLoadButton();
});

refreshPolicyHint();
chat.showEmpty({ kind: 'no-model' });
setState('idle');
void Promise.all([picker.init(), checkWebGpu()]).finally(() => (document.body.dataset.ready = 'true'));
