/**
 * The statistics panel: speed, context length, evictions and merges, KV memory against the full
 * cache, and the per-layer budgets as a bar chart. The numbers are also written as data-*
 * attributes on the panel, which the end-to-end tests read.
 */
import type { GenerationStats, KvStats } from '../src/index';
import { formatBytes, formatCount, formatRate } from './format';

const POLICY_NAMES: Record<string, string> = {
  full: 'Full',
  streaming: 'Streaming',
  h2o: 'H2O',
  d2o: 'D2O',
  'd2o-no-merge': 'D2O, no merge',
  'd2o-uniform': 'D2O uniform',
  pyramidkv: 'PyramidKV',
};

export class StatsView {
  private readonly values = new Map<string, HTMLElement>();

  constructor(
    private readonly root: HTMLElement,
    private readonly chart: HTMLElement,
  ) {
    for (const el of root.querySelectorAll<HTMLElement>('[data-stat]')) this.values.set(el.dataset.stat!, el);
  }

  /** Back to dashes (a new model). */
  clear(): void {
    for (const [k, el] of this.values) if (!['memory-note'].includes(k)) el.textContent = k === 'memory-fill' ? '' : '–';
    this.set('tau', '');
    this.fill(0);
    for (const k of Object.keys(this.root.dataset)) delete this.root.dataset[k];
    this.chart.replaceChildren(hint('Budgets appear after the first prompt.'));
  }

  /** While tokens stream: the rate seen by the page (the engine's own figure comes at the end). */
  live(tokens: number, seconds: number): void {
    if (tokens > 1 && seconds > 0) this.set('decode', formatRate((tokens - 1) / seconds));
  }

  generation(s: GenerationStats): void {
    this.set('decode', formatRate(s.decodeTokensPerSecond));
    this.set('prefill', formatRate(s.prefillTokensPerSecond));
    this.root.dataset.decodeTokensPerSecond = String(s.decodeTokensPerSecond);
    this.kv(s.kv);
  }

  kv(kv: KvStats): void {
    const evictions = kv.layers.reduce((s, l) => s + l.evictions, 0);
    const merges = kv.layers.reduce((s, l) => s + l.merges, 0);
    const taus = kv.layers.map((l) => l.tau).filter((t): t is number => t !== null);
    Object.assign(this.root.dataset, {
      policy: kv.policy,
      sequenceLength: String(kv.sequenceLength),
      evictions: String(evictions),
      merges: String(merges),
      bytesAllocated: String(kv.bytesAllocated),
      bytesFull: String(kv.bytesFull),
      layers: String(kv.layers.length),
    });
    this.set('context', formatCount(kv.sequenceLength));
    this.set('evictions', formatCount(evictions));
    this.set('merges', formatCount(merges));
    this.set('policy', POLICY_NAMES[kv.policy] ?? kv.policy);
    this.set('tau', taus.length ? `merge threshold τ ${(taus.reduce((a, b) => a + b, 0) / taus.length).toFixed(2)}` : '');

    const full = kv.bytesFull;
    const ratio = full > 0 ? kv.bytesAllocated / full : 0;
    this.set('memory', full > 0 ? `${formatBytes(kv.bytesAllocated)} of ${formatBytes(full)}` : formatBytes(kv.bytesAllocated));
    this.fill(Math.min(1, ratio));
    this.set(
      'memory-note',
      full <= 0
        ? 'compressed cache against what the full cache would use'
        : ratio < 1
          ? `${(ratio * 100).toFixed(0)}% of the full cache: ${formatBytes(full - kv.bytesAllocated)} saved`
          : kv.policy === 'full'
            ? `${(ratio * 100).toFixed(0)}% of the exact size: the cache is allocated in pages, ahead of need`
            : `${(ratio * 100).toFixed(0)}% of the full cache: the budget’s pools and indexes come first, savings grow with the conversation`,
    );
    this.layers(kv);
  }

  /** One bar per layer: its budget, filled by the tokens it holds (full cache: the tokens held). */
  private layers(kv: KvStats): void {
    const top = Math.max(1, ...kv.layers.map((l) => Math.max(l.budget ?? 0, l.occupancy)));
    this.chart.classList.toggle('many', kv.layers.length > 16);
    this.chart.replaceChildren(
      ...kv.layers.map((l, i) => {
        const cap = l.budget ?? l.occupancy;
        const col = document.createElement('div');
        col.className = 'layer-col';
        col.title =
          `Layer ${i}: ` +
          (l.budget === null ? `not compressed, holds ${Math.round(l.occupancy)} tokens` : `budget ${l.budget} (${l.hh} heavy hitters + ${l.recent} recent), holds ${Math.round(l.occupancy)}`) +
          `; ${formatCount(l.evictions)} evicted, ${formatCount(l.merges)} merged`;
        const bar = document.createElement('div');
        bar.className = 'layer-bar';
        bar.style.height = `calc((100% - 1.1rem) * ${cap / top})`;
        const fill = document.createElement('div');
        fill.className = 'layer-fill';
        fill.style.height = `${cap > 0 ? Math.min(100, (100 * l.occupancy) / cap) : 0}%`;
        bar.append(fill);
        const label = document.createElement('span');
        label.className = 'layer-label';
        label.textContent = String(l.budget ?? Math.round(l.occupancy));
        col.append(bar, label);
        return col;
      }),
    );
    this.chart.setAttribute('aria-label', `Per-layer KV budgets: ${kv.layers.map((l, i) => `layer ${i} ${l.budget ?? 'full'}`).join(', ')}`);
  }

  private fill(ratio: number): void {
    const el = this.values.get('memory-fill');
    if (el) el.style.width = `${(ratio * 100).toFixed(1)}%`;
    this.root.querySelector('[role=meter]')?.setAttribute('aria-valuenow', (ratio * 100).toFixed(0));
  }

  private set(key: string, text: string): void {
    const el = this.values.get(key);
    if (el) el.textContent = text;
  }
}

function hint(text: string): HTMLElement {
  const p = document.createElement('p');
  p.className = 'hint';
  p.textContent = text;
  return p;
}
