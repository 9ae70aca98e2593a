/**
 * The import graph of src/: no circle, and no import from a lower layer to a higher one.
 * Layers, bottom first (docs/architecture.md); a folder imports only its own files and lower layers:
 *   0 errors.ts, util/     1 model/     2 tokenizer/, math/     3 kv/ (pure policy description)
 *   4 backend/ (the contract)     5 cpu/, gpu/     6 engine/     7 eval/, cli/, index.ts
 * Every relative import counts, `import type` included. Run: npx tsx scripts/check-layers.ts (test/unit/layers.test.ts runs it too)
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const LAYERS = [['errors.ts', 'util'], ['model'], ['tokenizer', 'math'], ['kv'], ['backend'], ['cpu', 'gpu'], ['engine'], ['eval', 'cli', 'index.ts']];

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : /\.ts$/.test(f) ? [p] : [];
  });
}

/** The top-level entry of src/ a file belongs to (its folder, or the file itself). */
const unit = (file: string): string => relative(root, file).split('/')[0];
const layerOf = (file: string): number => LAYERS.findIndex((l) => l.includes(unit(file)));

export function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const all = files(root);
  for (const f of all) {
    const text = readFileSync(f, 'utf8');
    const deps: string[] = [];
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g)) {
      const spec = (m[1] ?? m[2])!;
      const target = resolve(dirname(f), spec.replace(/\.js$/, ''));
      const hit = [target + '.ts', join(target, 'index.ts'), target].find((p) => all.includes(p));
      if (hit) deps.push(hit);
    }
    graph.set(f, deps);
  }
  return graph;
}

export function layerViolations(graph = importGraph()): string[] {
  const out: string[] = [];
  for (const [f, deps] of graph) {
    const lf = layerOf(f);
    if (lf < 0) out.push(`${relative(root, f)}: not in any layer`);
    for (const d of deps) {
      const ld = layerOf(d);
      if (unit(d) !== unit(f) && ld >= lf) out.push(`${relative(root, f)} -> ${relative(root, d)} (layer ${lf} imports layer ${ld})`);
    }
  }
  return out;
}

/** Each circle once, as the files along it. */
export function cycles(graph = importGraph()): string[] {
  const out: string[] = [];
  const state = new Map<string, number>();
  const stack: string[] = [];
  const visit = (f: string): void => {
    state.set(f, 1);
    stack.push(f);
    for (const d of graph.get(f) ?? []) {
      if (state.get(d) === 1) out.push([...stack.slice(stack.indexOf(d)), d].map((p) => relative(root, p)).join(' -> '));
      else if (!state.has(d)) visit(d);
    }
    stack.pop();
    state.set(f, 2);
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f);
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const graph = importGraph();
  const problems = [...cycles(graph).map((c) => `circle: ${c}`), ...layerViolations(graph)];
  for (const p of problems) console.log(p);
  console.log(problems.length ? `${problems.length} problem(s)` : `${graph.size} files: no circle, no upward import`);
  process.exitCode = problems.length ? 1 : 0;
}
