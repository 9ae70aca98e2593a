/** Number formatting shared by the panels. */

export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '–';
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

/** Tokens per second: one decimal below 100, none above. */
export function formatRate(x: number): string {
  if (!Number.isFinite(x) || x <= 0) return '–';
  return x >= 100 ? x.toFixed(0) : x.toFixed(1);
}

export function formatCount(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–';
}

/**
 * End markers some story models spell out in ordinary pieces just before their real EOS id. They
 * are hidden, not used as stop strings: a reply must stay exactly what the engine holds, so the
 * next turn extends the compressed cache instead of recomputing the conversation.
 */
const END_MARKERS = /<\|end_?(?:story|of_?text)\|>|<\/s>/g;

export function stripEndMarkers(text: string): string {
  return text.replace(END_MARKERS, '');
}

export function wordCount(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}
