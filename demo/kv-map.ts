/**
 * The KV-cache map: one row per layer, one column per position of the conversation, coloured by
 * what the policy did with it (held, held and absorbed merges, evicted). A layer's KV heads evict
 * on their own, so a position held by some of its heads is drawn in proportion: the row adds up to
 * the positions held that the budget chart shows. Drawn pixel by pixel into an ImageData: a long
 * context shares a pixel column between positions and blends their colours, so the picture stays
 * truthful at any length.
 */
import type { KvMap } from '../src/index';
import { formatPositions, mapHeld } from './kv-figures';

type Rgb = [number, number, number];

export class KvMapView {
  private last: KvMap | null = null;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly empty: HTMLElement,
    private readonly endLabel: HTMLElement,
  ) {
    // Redraw at the new size (the panel reflows between laptop and phone layouts).
    new ResizeObserver(() => this.last && this.draw(this.last)).observe(canvas);
  }

  clear(): void {
    this.last = null;
    this.canvas.getContext('2d')?.clearRect(0, 0, this.canvas.width, this.canvas.height);
    this.canvas.style.height = '';
    this.empty.hidden = false;
    this.endLabel.textContent = '';
    for (const k of Object.keys(this.canvas.dataset)) delete this.canvas.dataset[k];
  }

  draw(map: KvMap): void {
    this.last = map;
    const L = map.layers.length;
    const N = map.sequenceLength;
    if (L === 0 || N === 0) return this.clear();
    this.empty.hidden = true;
    this.endLabel.textContent = `position ${N - 1}`;

    // Rows between 5 and 32 CSS pixels: a 2-layer toy and a 32-layer model both read well.
    const rowCss = Math.max(5, Math.min(32, Math.floor(180 / L)));
    const gapCss = L > 24 ? 1 : 2;
    this.canvas.style.height = `${L * rowCss + (L - 1) * gapCss + 8}px`;
    const dpr = window.devicePixelRatio || 1;
    const W = Math.max(1, Math.round(this.canvas.clientWidth * dpr));
    const height = Math.max(1, Math.round(this.canvas.clientHeight * dpr));
    this.canvas.width = W;
    this.canvas.height = height;
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;

    const colors = themeColors(ctx);
    const pad = Math.round(4 * dpr);
    const innerW = W - 2 * pad;
    const rowH = Math.max(1, Math.round(rowCss * dpr));
    const gap = Math.round(gapCss * dpr);
    const img = ctx.createImageData(W, height);
    // Position cells get a hairline between them when they are wide enough to tell apart.
    const cellGap = innerW / N >= 5 * dpr;
    // Per position, the share of the layer's KV heads holding it (and holding merges there).
    const heads = Math.max(1, map.kvHeads);

    map.layers.forEach((layer, l) => {
      // Prefix sums of head counts over positions: any pixel column's mix in O(1).
      const keptAt = prefix(layer.kept, layer.keptHeads, N);
      const mergedAt = prefix(layer.merged, layer.mergedHeads, N);
      const top = pad + l * (rowH + gap);
      for (let x = 0; x < innerW; x++) {
        const p0 = Math.floor((x * N) / innerW);
        const p1 = Math.max(p0 + 1, Math.floor(((x + 1) * N) / innerW));
        if (cellGap && Math.floor(((x + 1) * N) / innerW) > p0 && x < innerW - 1) continue;
        const n = (p1 - p0) * heads;
        const m = mergedAt[p1] - mergedAt[p0];
        const k = keptAt[p1] - keptAt[p0] - m;
        const e = n - k - m;
        const rgb: Rgb = [0, 1, 2].map((c) => (k * colors.kept[c] + m * colors.merged[c] + e * colors.evicted[c]) / n) as Rgb;
        for (let y = top; y < Math.min(height, top + rowH); y++) {
          const i = (y * W + pad + x) * 4;
          img.data[i] = rgb[0];
          img.data[i + 1] = rgb[1];
          img.data[i + 2] = rgb[2];
          img.data[i + 3] = 255;
        }
      }
    });
    ctx.putImageData(img, 0, 0);

    const held = mapHeld(map);
    Object.assign(this.canvas.dataset, {
      layers: String(L),
      sequenceLength: String(N),
      heldPerLayer: JSON.stringify(held),
      mergedPositions: String(map.layers.reduce((s, x) => s + x.merged.length, 0)),
      evictedPerLayer: JSON.stringify(held.map((h) => N - h)),
    });
    this.canvas.setAttribute(
      'aria-label',
      `KV cache map over ${N} positions: ` +
        map.layers.map((x, i) => `layer ${i} holds ${formatPositions(held[i])} and evicted ${formatPositions(N - held[i])}, ${x.merged.length} of the held positions absorbed merges`).join('; '),
    );
  }
}

/** at[p] = the head counts of the sorted positions below p, summed. */
function prefix(sorted: readonly number[], heads: readonly number[], n: number): Int32Array {
  const at = new Int32Array(n + 1);
  sorted.forEach((p, i) => {
    if (p >= 0 && p < n) at[p + 1] += heads[i];
  });
  for (let p = 0; p < n; p++) at[p + 1] += at[p];
  return at;
}

/** The theme's colours (CSS variables), as RGB through the canvas' own colour parser. */
function themeColors(ctx: CanvasRenderingContext2D): { kept: Rgb; merged: Rgb; evicted: Rgb } {
  const css = getComputedStyle(document.documentElement);
  const rgb = (name: string, fallback: string): Rgb => {
    ctx.fillStyle = fallback;
    ctx.fillStyle = css.getPropertyValue(name).trim() || fallback;
    const hex = String(ctx.fillStyle);
    const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
    return m ? [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16)] : [128, 128, 128];
  };
  return { kept: rgb('--kv-kept', '#aec6ff'), merged: rgb('--kv-merged', '#ffcc66'), evicted: rgb('--kv-evicted', '#5a6682') };
}
