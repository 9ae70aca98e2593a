/**
 * WGSL sources by name (`shaders/<name>.wgsl`). Under Vite and Vitest they are bundled with
 * `import.meta.glob`; under plain Node (the CLI and benchmarks run through tsx, which has no `?raw`
 * imports) `import.meta.env` is absent and they are read from disk next to this module.
 */
const underVite = (import.meta as { env?: unknown }).env !== undefined;
const bundled = underVite ? import.meta.glob('../../shaders/*.wgsl', { query: '?raw', import: 'default', eager: true }) as Record<string, string> : undefined;

const cache = new Map<string, string>();

export function shaderSource(name: string): string {
  let src = cache.get(name);
  if (src !== undefined) return src;
  if (bundled) src = bundled[`../../shaders/${name}.wgsl`];
  else {
    const fs = process.getBuiltinModule('node:fs') as typeof import('node:fs');
    src = fs.readFileSync(new URL(`../../shaders/${name}.wgsl`, import.meta.url), 'utf8');
  }
  if (src === undefined) throw new Error(`no shader named ${name}`);
  cache.set(name, src);
  return src;
}
