/**
 * A small dependency-free SVG line chart for the result pages: categorical x (budgets, context
 * lengths), linear or log y, one line per series, legend on the right. Pure strings, browser-safe.
 */
export interface Series {
  name: string;
  /** One value per x label; null leaves a gap. */
  values: (number | null)[];
  /** Drawn dashed (a reference such as the full cache). */
  dashed?: boolean;
}

export interface LineChart {
  title: string;
  xLabel: string;
  yLabel: string;
  x: string[];
  series: Series[];
  logY?: boolean;
}

/** The same colour for a policy (or peer) on every chart. */
const COLORS: Record<string, string> = {
  full: '#222222',
  streaming: '#e69f00',
  h2o: '#0072b2',
  d2o: '#d55e00',
  'd2o-no-merge': '#cc79a7',
  'd2o-uniform': '#009e73',
  pyramidkv: '#56b4e9',
};
const FALLBACK = ['#56b4e9', '#f0e442', '#999999', '#882255'];

const W = 680;
const H = 400;
const M = { left: 70, right: 160, top: 44, bottom: 56 };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Rounded numbers for tick labels: 3 significant digits, no trailing zeros. */
const fmt = (v: number) => String(Number(v.toPrecision(3)));

function linearTicks(lo: number, hi: number): number[] {
  const raw = (hi - lo) / 5 || Math.abs(hi) || 1;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.floor(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function logTicks(lo: number, hi: number): number[] {
  for (const mantissas of [[1], [1, 2, 5], [1, 2, 3, 4, 5, 6, 7, 8, 9]]) {
    const out: number[] = [];
    for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++)
      for (const m of mantissas) {
        const v = Number((m * 10 ** e).toPrecision(12));
        if (v >= lo * 0.999 && v <= hi * 1.001) out.push(v);
      }
    if (out.length >= 3) return out;
  }
  return [lo, hi];
}

export function lineChart(c: LineChart): string {
  const values = c.series.flatMap((s) => s.values).filter((v): v is number => v !== null && Number.isFinite(v) && (!c.logY || v > 0));
  let lo = values.length ? Math.min(...values) : 0;
  let hi = values.length ? Math.max(...values) : 1;
  if (c.logY) {
    lo /= 1.1;
    hi *= 1.1;
  } else {
    const pad = (hi - lo) * 0.08 || Math.abs(hi) * 0.1 || 1;
    lo = lo >= 0 && lo - pad < 0 ? 0 : lo - pad;
    hi += pad;
  }
  const ticks = c.logY ? logTicks(lo, hi) : linearTicks(lo, hi);
  if (!c.logY) [lo, hi] = [Math.min(lo, ticks[0]), Math.max(hi, ticks[ticks.length - 1])];
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  // Categories centred in equal slots, so no point sits on the frame.
  const xAt = (i: number) => M.left + ((i + 0.5) * pw) / c.x.length;
  const yAt = (v: number) => M.top + ph - (c.logY ? (Math.log(v / lo) / Math.log(hi / lo)) * ph : ((v - lo) / (hi - lo)) * ph);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${M.left + pw / 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">${esc(c.title)}</text>`,
  ];
  for (const t of ticks) {
    const y = yAt(t).toFixed(1);
    out.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`, `<text x="${M.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${fmt(t)}</text>`);
  }
  c.x.forEach((label, i) => {
    const x = xAt(i).toFixed(1);
    out.push(`<line x1="${x}" x2="${x}" y1="${M.top + ph}" y2="${M.top + ph + 5}" stroke="#444"/>`, `<text x="${x}" y="${M.top + ph + 18}" text-anchor="middle">${esc(label)}</text>`);
  });
  out.push(
    `<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#444"/>`,
    `<text x="${M.left + pw / 2}" y="${H - 12}" text-anchor="middle">${esc(c.xLabel)}</text>`,
    `<text transform="translate(16 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(c.yLabel)}${c.logY ? ' (log scale)' : ''}</text>`,
  );
  c.series.forEach((s, k) => {
    const color = COLORS[s.name] ?? FALLBACK[k % FALLBACK.length];
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    // A gap (null) ends one polyline and starts the next.
    const runs: string[][] = [[]];
    s.values.forEach((v, i) => {
      if (v === null || !Number.isFinite(v) || (c.logY && v <= 0)) return void runs.push([]);
      runs[runs.length - 1].push(`${xAt(i).toFixed(1)},${yAt(v).toFixed(1)}`);
      out.push(`<circle cx="${xAt(i).toFixed(1)}" cy="${yAt(v).toFixed(1)}" r="3" fill="${color}"><title>${esc(`${s.name} @ ${c.x[i]}: ${fmt(v)}`)}</title></circle>`);
    });
    for (const r of runs) if (r.length > 1) out.push(`<polyline points="${r.join(' ')}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`);
    const ly = M.top + 10 + k * 20;
    out.push(
      `<line x1="${W - M.right + 14}" x2="${W - M.right + 40}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"${dash}/>`,
      `<text x="${W - M.right + 46}" y="${ly}" dominant-baseline="middle">${esc(s.name)}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
