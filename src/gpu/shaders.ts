/**
 * WGSL sources by name: `shaderSource('rmsnorm')` is the text of `shaders/rmsnorm.wgsl`.
 *
 * Kernels live in plain .wgsl files and every wrapper gets its source here, never through its own
 * `import src from '../../shaders/x.wgsl?raw'`, because the code runs in three environments:
 * - Vite (demo, later the library build) and Vitest (unit, gpu-node, and the browser test page served
 *   by a Vite dev server): `import.meta.glob(..., { query: '?raw', eager: true })` below inlines every
 *   shader as a string at transform time (no fetch, no fs, works in the browser bundle);
 * - tsx (the CLI and the benchmarks): tsx does not understand `?raw` (a `?raw` import fails there),
 *   and `import.meta.env` is absent, so the glob is never evaluated and the file is read from disk
 *   next to this module (`process.getBuiltinModule`, so no static `node:fs` import reaches a bundle).
 * This keeps one plain source of truth (no generated module to go stale, no loader hook to register).
 * A new kernel needs nothing here: drop `shaders/<name>.wgsl` and call `shaderSource('<name>')`.
 */
const underVite = (import.meta as { env?: unknown }).env !== undefined;
const bundled = underVite
  ? (import.meta.glob('../../shaders/*.wgsl', { query: '?raw', import: 'default', eager: true }) as Record<string, string>)
  : undefined;

const cache = new Map<string, string>();

export function shaderSource(name: string): string {
  let src = cache.get(name);
  if (src !== undefined) return src;
  if (bundled) src = bundled[`../../shaders/${name}.wgsl`];
  else {
    const fs = process.getBuiltinModule('node:fs') as typeof import('node:fs');
    // Through a variable: Vite rewrites `new URL(<literal>, import.meta.url)` into emitted assets.
    const rel = `../../shaders/${name}.wgsl`;
    const url = new URL(rel, import.meta.url);
    src = fs.existsSync(url) ? fs.readFileSync(url, 'utf8') : undefined;
  }
  if (src === undefined) throw new Error(`no shader named "${name}" (expected shaders/${name}.wgsl)`);
  cache.set(name, src);
  return src;
}
