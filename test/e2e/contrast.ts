/**
 * WCAG 2.x contrast, measured in the page from computed styles: every visible text against the
 * background it is drawn on (4.5:1, 3:1 for large text), and named colour pairs of the graphics
 * (3:1, success criterion 1.4.11). Disabled controls are exempt, as WCAG makes them.
 */
import type { Page } from 'playwright-core';

export interface ContrastFailure {
  text: string;
  ratio: number;
  needed: number;
  fg: string;
  bg: string;
}

/** Texts below their contrast threshold (empty when all pass). */
export function textContrastFailures(page: Page): Promise<ContrastFailure[]> {
  return page.evaluate(() => {
    type Rgba = [number, number, number, number];
    const parse = (c: string): Rgba => {
      const m = /rgba?\(([^)]+)\)/.exec(c);
      if (!m) return [0, 0, 0, 0];
      const p = m[1].split(/[\s,/]+/).filter(Boolean).map(Number);
      return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
    };
    const over = (top: Rgba, below: Rgba): Rgba => {
      const a = top[3] + below[3] * (1 - top[3]);
      if (a === 0) return [0, 0, 0, 0];
      return [0, 1, 2].map((i) => (top[i] * top[3] + below[i] * below[3] * (1 - top[3])) / a).concat(a) as Rgba;
    };
    const lum = (c: Rgba) => {
      const f = (v: number) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
      return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
    };
    const ratio = (a: Rgba, b: Rgba) => {
      const [x, y] = [lum(a), lum(b)].sort((p, q) => p - q);
      return (y + 0.05) / (x + 0.05);
    };
    /** The colour behind an element: its own and its ancestors' backgrounds, composited on white. */
    const background = (el: Element): Rgba => {
      const layers: Rgba[] = [];
      for (let e: Element | null = el; e; e = e.parentElement) {
        const c = parse(getComputedStyle(e).backgroundColor);
        if (c[3] > 0) layers.push(c);
        if (c[3] >= 1) break;
      }
      return layers.reduceRight<Rgba>((below, top) => over(top, below), [255, 255, 255, 1]);
    };
    const exempt = (el: Element) => {
      for (let e: Element | null = el; e; e = e.parentElement) {
        const cs = getComputedStyle(e);
        if (Number(cs.opacity) < 1 || (e as HTMLButtonElement).disabled || e.classList.contains('visually-hidden')) return true;
      }
      return false;
    };
    const out: { text: string; ratio: number; needed: number; fg: string; bg: string }[] = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const seen = new Set<Element>();
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement;
      if (!el || seen.has(el) || !n.textContent?.trim() || ['OPTION', 'SCRIPT', 'STYLE', 'DATALIST'].includes(el.tagName)) continue;
      seen.add(el);
      const r = el.getBoundingClientRect();
      const cs = getComputedStyle(el);
      if (r.width === 0 || r.height === 0 || cs.visibility === 'hidden' || !el.checkVisibility?.() || exempt(el)) continue;
      const bg = background(el);
      const fg = over(parse(cs.color), bg);
      const size = parseFloat(cs.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(cs.fontWeight) >= 700);
      const needed = large ? 3 : 4.5;
      const x = ratio(fg, bg);
      if (x < needed - 0.005) out.push({ text: n.textContent.trim().slice(0, 60), ratio: Math.round(x * 100) / 100, needed, fg: cs.color, bg: `rgb(${bg.slice(0, 3).map(Math.round).join(', ')})` });
    }
    return out;
  });
}

/** Contrast ratios between CSS colour variables of the page's root (graphics: map, chart, meter). */
export function variableContrasts(page: Page, pairs: [string, string][]): Promise<{ pair: string; ratio: number }[]> {
  return page.evaluate((pairs) => {
    const probe = document.createElement('div');
    document.body.append(probe);
    const rgb = (v: string) => {
      probe.style.color = `var(${v})`;
      const m = /rgba?\(([^)]+)\)/.exec(getComputedStyle(probe).color)!;
      return m[1].split(/[\s,]+/).map(Number);
    };
    const lum = (c: number[]) => {
      const f = (v: number) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
      return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
    };
    const out = pairs.map(([a, b]) => {
      const [x, y] = [lum(rgb(a)), lum(rgb(b))].sort((p, q) => p - q);
      return { pair: `${a} / ${b}`, ratio: Math.round(((y + 0.05) / (x + 0.05)) * 100) / 100 };
    });
    probe.remove();
    return out;
  }, pairs);
}
