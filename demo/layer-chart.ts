/**
 * The per-layer budget chart: one row per layer, on one scale in tokens (the context or the
 * largest budget, whichever is larger), so a 5-token budget looks small beside a 65-token
 * conversation. Each row shows the budget (outlined), the positions held (filled) and the context
 * (a line); the numbers are printed beside each row and in a table below, so nothing needs a mouse.
 */
import { formatPositions, type KvFigures } from './kv-figures';

export class LayerChart {
  constructor(
    private readonly chart: HTMLElement,
    private readonly axis: HTMLElement,
    private readonly table: HTMLElement,
  ) {}

  clear(): void {
    delete this.chart.dataset.heldPerLayer;
    delete this.chart.dataset.scale;
    this.chart.classList.remove('many');
    this.chart.setAttribute('aria-label', 'Per-layer KV budgets: none yet');
    this.chart.replaceChildren(hint('Budgets appear after the first prompt.'));
    this.axis.replaceChildren();
    this.table.replaceChildren(hint('No conversation yet.'));
  }

  draw(f: KvFigures): void {
    const scale = niceCeil(Math.max(1, f.context, f.budgetMax ?? 0));
    const pct = (x: number) => `${Math.min(100, (100 * x) / scale).toFixed(2)}%`;
    const many = f.layers.length > 12;
    this.chart.classList.toggle('many', many);
    this.chart.dataset.scale = String(scale);
    this.chart.dataset.heldPerLayer = JSON.stringify(f.layers.map((l) => l.held));
    this.chart.replaceChildren(
      ...f.layers.map((l) => {
        const row = div('layer-row');
        // Many layers: a label on every fourth row keeps them readable.
        const name = div('layer-name', many && l.layer % 4 !== 0 ? '' : `L${l.layer}`);
        const track = div('layer-track');
        const cap = l.budget ?? f.context;
        const budget = div(`layer-budget${l.budget === null ? ' uncompressed' : ''}`);
        budget.style.width = pct(cap);
        const held = div('layer-held');
        held.style.width = pct(l.held);
        const context = div('layer-context');
        context.style.left = pct(f.context);
        track.append(budget, held, context);
        const num = div('layer-num', `${formatPositions(l.held)} / ${l.budget ?? 'all'}`);
        row.append(name, track, num);
        row.title = rowText(l, f);
        return row;
      }),
    );
    this.chart.setAttribute('aria-label', `Per-layer KV budgets, in tokens: ${f.layers.map((l) => rowText(l, f)).join('; ')}`);
    this.axis.replaceChildren(span('0'), span(String(Math.round(scale / 2))), span(`${scale} tokens`));
    this.table.replaceChildren(this.tableOf(f));
  }

  private tableOf(f: KvFigures): HTMLTableElement {
    const t = document.createElement('table');
    const cap = document.createElement('caption');
    cap.textContent = `Per layer, in positions of the ${f.context}-token conversation. Evicted and merged are means over the layer's ${f.kvHeads} KV heads; the totals over the heads follow in brackets.`;
    t.append(cap);
    const head = t.createTHead().insertRow();
    for (const h of ['Layer', 'Budget', 'Held', 'Evicted', 'Merged']) {
      const th = document.createElement('th');
      th.scope = 'col';
      th.textContent = h;
      head.append(th);
    }
    const body = t.createTBody();
    for (const l of f.layers) {
      const r = body.insertRow();
      const th = document.createElement('th');
      th.scope = 'row';
      th.textContent = `L${l.layer}`;
      r.append(th);
      const heads = (x: number) => (f.kvHeads > 1 ? ` (${x.toLocaleString('en-US')})` : '');
      for (const v of [l.budget === null ? 'none' : String(l.budget), formatPositions(l.held), formatPositions(l.evicted) + heads(l.evictionsAllHeads), formatPositions(l.merged) + heads(l.mergesAllHeads)])
        r.insertCell().textContent = v;
    }
    return t;
  }
}

function rowText(l: KvFigures['layers'][number], f: KvFigures): string {
  const budget = l.budget === null ? 'no budget' : `budget ${l.budget}`;
  return `layer ${l.layer}: ${budget}, holds ${formatPositions(l.held)} of ${f.context}, evicted ${formatPositions(l.evicted)}, merged ${formatPositions(l.merged)}`;
}

/** A round number at least x (1, 1.2, 1.5, 2, ... 8 times a power of ten): an axis end read at a glance. */
export function niceCeil(x: number): number {
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8]) if (Math.round(m * p) >= x) return Math.round(m * p);
  return 10 * p;
}

function div(className: string, text?: string): HTMLElement {
  const e = document.createElement('div');
  e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function span(text: string): HTMLElement {
  const e = document.createElement('span');
  e.textContent = text;
  return e;
}

function hint(text: string): HTMLElement {
  const p = document.createElement('p');
  p.className = 'hint';
  p.textContent = text;
  return p;
}
