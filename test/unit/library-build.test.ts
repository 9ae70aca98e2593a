/** `npm run build` produces a working library: the built module (not src/) generates the golden ids. The packed library in apps: test/browser/package.test.ts. */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { golden, tinystories656k } from '../helpers/models';

const root = resolve(import.meta.dirname, '../..');
// Inside the project so the bundle's dependency imports resolve from node_modules.
const out = join(root, 'node_modules/.cache/d2o-library-test');

describe('library build', () => {
  it('builds an ES module with types and a worker chunk, which runs in Node', async () => {
    rmSync(out, { recursive: true, force: true });
    const bin = (name: string) => join(root, 'node_modules/.bin', name);
    const vite = spawnSync(bin('vite'), ['build', '--outDir', out, '--emptyOutDir', '--logLevel', 'error'], { cwd: root, encoding: 'utf8' });
    expect(vite.status, vite.stderr).toBe(0);
    const types = spawnSync(process.execPath, ['scripts/build-types.mjs', join(out, 'types')], { cwd: root, encoding: 'utf8' });
    expect(types.status, types.stdout + types.stderr).toBe(0);

    const bundle = readFileSync(join(out, 'd2o-webgpu.js'), 'utf8');
    // The tokenizer comes from the small packages; ONNX Runtime must not reach the bundle.
    expect(bundle).not.toMatch(/onnxruntime|@huggingface\/transformers/);
    // The worker is the build's second entry, named relative to the module for the app's bundler to emit.
    expect(readdirSync(out)).toContain('d2o-webgpu-worker.js');
    expect(readFileSync(join(out, 'd2o-webgpu.js'), 'utf8')).toContain('new Worker(new URL("./d2o-webgpu-worker.js", import.meta.url)');
    // Nothing a browser bundler would have to resolve for Node.
    for (const f of readdirSync(out).filter((f) => f.endsWith('.js'))) expect(readFileSync(join(out, f), 'utf8')).not.toMatch(/from ["']node:|import\(["'](node:|webgpu)|@vite-ignore/);
    const index = readFileSync(join(out, 'types/index.d.ts'), 'utf8');
    for (const name of ['createEngine', 'createWorkerEngine', "from './errors.js'", 'ChatCompletion']) expect(index).toContain(name);
    expect(readFileSync(join(out, 'types/ts5.d.ts'), 'utf8')).toContain('/// <reference types="@webgpu/types" />');
    expect(readFileSync(join(out, 'types/errors.d.ts'), 'utf8')).toContain('class ContextOverflowError');
    expect(existsSync(join(out, 'types/engine/engine.d.ts'))).toBe(true);

    const lib = await import(pathToFileURL(join(out, 'd2o-webgpu.js')).href);
    const engine = await lib.createEngine({ model: tinystories656k.dir, backend: 'cpu' });
    const g = golden['tinystories-656k'];
    const r = await engine.generate(g.prompt_ids, { greedy: true, maxTokens: 50, stopAtEos: false }).result;
    expect([...g.prompt_ids, ...r.ids]).toEqual(g.greedy_ids.slice(0, 51));
  }, 120_000);
});
