/**
 * The statistics cards: context, positions held / evicted / merged per layer, speeds, the policy
 * with its budget and merge threshold, and KV memory against the full cache. Every number comes
 * from kv-figures.ts. The figures are also written as data-* attributes on the panel, which the
 * end-to-end tests read and check against the chart and the map.
 */
import type { GenerationStats, KvStats } from '../src/index';
import { formatBytes, formatRate } from './format';
import { formatPositions, kvFigures, percent, type KvFigures } from './kv-figures';

export const POLICY_NAMES: Record<string, string> = {
  full: 'Full cache',
  streaming: 'StreamingLLM',
  h2o: 'H2O',
  d2o: 'D2O',
  'd2o-no-merge': 'D2O, no merging',
  'd2o-uniform': 'D2O, uniform budgets',
  pyramidkv: 'PyramidKV',
};

/** How the budget was asked for, to say what it became. */
export interface BudgetRequest {
  unit: 'tokens' | '%';
  value: number;
}

export class StatsView {
  private readonly values = new Map<string, HTMLElement>();
  private readonly defaults = new Map<string, string>();
  private readonly meter: HTMLElement;
  /** Prompt tokens of the first turn: a budget in percent is a share of it. */
  private firstPrompt: number | null = null;
  private request: BudgetRequest | null = null;

  constructor(private readonly root: HTMLElement) {
    for (const el of root.querySelectorAll<HTMLElement>('[data-stat]')) {
      this.values.set(el.dataset.stat!, el);
      this.defaults.set(el.dataset.stat!, el.textContent ?? '');
    }
    this.meter = root.querySelector<HTMLElement>('[role=meter]')!;
  }

  /** A new engine or a new chat: back to dashes. */
  clear(request?: BudgetRequest | null): void {
    if (request !== undefined) this.request = request;
    this.firstPrompt = null;
    for (const [k, el] of this.values) el.textContent = this.defaults.get(k) ?? '';
    this.fill(null);
    for (const k of Object.keys(this.root.dataset)) delete this.root.dataset[k];
  }

  /** While tokens stream: the rate seen by the page (the engine's own figure comes at the end). */
  live(tokens: number, seconds: number): void {
    if (tokens > 1 && seconds > 0) this.set('decode', formatRate((tokens - 1) / seconds));
  }

  generation(s: GenerationStats): void {
    this.firstPrompt ??= s.promptTokens;
    this.set('decode', formatRate(s.decodeTokensPerSecond));
    this.set('prefill', formatRate(s.prefillTokensPerSecond));
    this.root.dataset.decodeTokensPerSecond = String(s.decodeTokensPerSecond);
  }

  kv(kv: KvStats): KvFigures {
    const f = kvFigures(kv);
    const n = f.context;
    Object.assign(this.root.dataset, {
      policy: f.policy,
      context: String(n),
      layers: String(f.layers.length),
      kvHeads: String(f.kvHeads),
      held: String(f.held),
      evicted: String(f.evicted),
      merged: String(f.merged),
      heldPerLayer: JSON.stringify(f.layers.map((l) => l.held)),
      evictedPerLayer: JSON.stringify(f.layers.map((l) => l.evicted)),
      mergedPerLayer: JSON.stringify(f.layers.map((l) => l.merged)),
      bytesHeld: String(f.bytesHeld),
      bytesFull: String(f.bytesFull),
      bytesAllocated: String(f.bytesAllocated),
      bytesFullAllocated: String(f.bytesFullAllocated),
    });
    this.set('context', formatPositions(n));
    this.set('held', formatPositions(f.held));
    this.set('held-share', `per layer · ${percent(f.held, n)} of the context`);
    this.set('evicted', formatPositions(f.evicted));
    this.set('evicted-share', `per layer · ${percent(f.evicted, n)} of the context`);
    this.set('merged', formatPositions(f.merged));
    this.set('merged-share', f.evicted > 0 ? `per layer · ${percent(f.merged, f.evicted)} of the evicted` : 'per layer');
    this.set('policy', POLICY_NAMES[f.policy] ?? f.policy);
    this.set('budget', this.budgetText(f));
    const taus = kv.layers.map((l) => l.tau).filter((t): t is number => t !== null);
    this.set(
      'tau',
      taus.length
        ? `Merge threshold τ ${(taus.reduce((a, b) => a + b, 0) / taus.length).toFixed(2)}: an evicted token is merged into its most similar held token when their similarity passes τ (a running average of similarities).`
        : f.policy === 'full'
          ? 'Every token is kept.'
          : 'Evicted tokens are dropped, not merged.',
    );
    this.memory(f);
    return f;
  }

  /** The budget as asked and as it is: a percentage becomes tokens per layer once the first prompt is read. */
  private budgetText(f: KvFigures): string {
    if (f.policy === 'full' || f.budgetMax === null) {
      if (f.policy === 'full') return 'no budget: memory grows with the conversation';
      return this.request ? `budget ${this.request.value}${this.request.unit === '%' ? '% of the first prompt' : ' tokens per layer'}: not applied yet` : '';
    }
    const range = f.budgetMin === f.budgetMax ? `${f.budgetMax} tokens per layer` : `${f.budgetMin}–${f.budgetMax} tokens per layer (set per layer)`;
    if (this.request?.unit === '%' && this.firstPrompt !== null) {
      const tiny = f.budgetMax < 16 ? ' — a short opening makes a tiny cache; choose tokens per layer for short chats' : '';
      return `${this.request.value}% of the ${this.firstPrompt}-token first prompt = ${range}${tiny}`;
    }
    return range;
  }

  private memory(f: KvFigures): void {
    const held = f.bytesHeld;
    const full = f.bytesFull;
    const ratio = full > 0 ? Math.min(1, held / full) : 0;
    this.fill(full > 0 ? ratio : null, `${percent(held, full)} of the full cache: ${formatBytes(held)} of ${formatBytes(full)}`);
    this.set('memory', full <= 0 ? '–' : held < full ? `saves ${percent(full - held, full)}` : 'saves nothing');
    this.set('memory-bytes', full > 0 ? `${formatBytes(held)} held of ${formatBytes(full)}` : '');
    this.set('memory-held', `The bar: keys and values the cache holds, against the ${formatBytes(full)} the full cache holds for these ${formatPositions(f.context)} tokens.`);
    const name = POLICY_NAMES[f.policy] ?? f.policy;
    let saving: string;
    if (f.policy === 'full') saving = 'The full cache keeps every token: nothing is saved, memory grows with the conversation.';
    else if (f.nothingEvicted && f.budgetMax !== null && f.budgetMax >= f.context)
      saving = `The budget (${f.budgetMax} per layer) is larger than the conversation (${f.context} tokens): nothing is evicted yet, so nothing is saved. Savings start past ${f.budgetMax} tokens.`;
    else if (f.nothingEvicted) saving = 'Nothing is evicted yet, so nothing is saved.';
    else
      saving = `Saved ${formatBytes(full - held)} (${percent(full - held, full)}): ${name} holds ${formatPositions(f.held)} of ${formatPositions(f.context)} positions per layer${f.merged > 0 ? `, and merged ${formatPositions(f.merged)} of the ${formatPositions(f.evicted)} it evicted into the ones it holds` : ''}.`;
    this.set('memory-saving', saving);
    const allocRatio = f.bytesFullAllocated > 0 ? f.bytesAllocated / f.bytesFullAllocated : 0;
    this.set(
      'memory-allocated',
      `Allocated now: ${formatBytes(f.bytesAllocated)}, against ${formatBytes(f.bytesFullAllocated)} a full cache allocates for this conversation (${percent(f.bytesAllocated, f.bytesFullAllocated)})` +
        (allocRatio > 1 && f.policy !== 'full' ? '. The compressed cache reserves room for its budget up front, so it costs more than a short conversation needs.' : '.'),
    );
    this.root.dataset.memoryRatio = String(ratio);
  }

  private fill(ratio: number | null, text = 'no conversation yet'): void {
    const el = this.values.get('memory-fill');
    if (el) el.style.width = `${((ratio ?? 0) * 100).toFixed(1)}%`;
    this.meter.setAttribute('aria-valuenow', ((ratio ?? 0) * 100).toFixed(0));
    this.meter.setAttribute('aria-valuetext', text);
  }

  private set(key: string, text: string): void {
    const el = this.values.get(key);
    if (el) el.textContent = text;
  }
}
