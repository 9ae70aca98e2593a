/**
 * The published package inside apps, as a web developer meets it: `npm pack`, the tarball unpacked
 * into a scratch app (test/fixtures/package-app; no registry at test time: the app's tools and the
 * package's dependencies are vendored from this project's node_modules), then
 * - Node: import and require, the CPU engine on a shared model, the install line for `webgpu`;
 * - types: the README's example and a check that the API is not `any`, under moduleResolution
 *   bundler, node16 and nodenext, without skipLibCheck and without @types/node;
 * - Chromium: the app built with Vite (served by `vite preview`, which answers unknown paths with
 *   index.html), under `vite dev`, and built with esbuild (minified); each loads a shared model
 *   through createEngine and createWorkerEngine by root-relative and relative URLs, streams text and
 *   a chat completion, and gets a typed error from the worker with its name, class and fields.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { build as viteBuild, createServer, preview } from 'vite';
import { build as esbuild } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_ARGS } from '../helpers/browser';
import { requireChromium } from '../helpers/gpu';
import { golden, modelsDir } from '../helpers/models';

const root = resolve(import.meta.dirname, '../..');
const fixture = join(root, 'test/fixtures/package-app');
const g = golden['tinystories-656k'];
const expectedIds = g.greedy_ids.slice(g.prompt_ids.length, g.prompt_ids.length + 20);

let tmp: string;
let app: string;
let browser: Browser | undefined;

function run(cmd: string, args: string[], cwd: string) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'd2o-package-'));
  // What `npm pack` (and a publish) ships: its `prepack` is this build.
  run('npm', ['run', '--silent', 'build'], root);
  const [packed] = JSON.parse(run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', tmp], root)) as { filename: string; size: number; unpackedSize: number; files: { path: string }[] }[];
  console.log(`[package] ${packed.filename}: ${(packed.size / 1024).toFixed(1)} kB packed, ${(packed.unpackedSize / 1024).toFixed(1)} kB unpacked, ${packed.files.length} files`);

  app = join(tmp, 'app');
  cpSync(fixture, app, { recursive: true });
  const modules = join(app, 'node_modules');
  mkdirSync(join(modules, 'd2o-webgpu'), { recursive: true });
  run('tar', ['-xzf', join(tmp, packed.filename), '-C', join(modules, 'd2o-webgpu'), '--strip-components=1'], tmp);
  // What `npm install <tarball>` would add: the package's dependencies (copied, as an install
  // does) and the app's own tools (linked).
  for (const dep of Object.keys(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).dependencies))
    cpSync(join(root, 'node_modules', dep), join(modules, dep), { recursive: true, dereference: true });
  for (const tool of ['vite', 'typescript', 'esbuild']) symlinkSync(join(root, 'node_modules', tool), join(modules, tool));
  // The app serves the shared models itself (Vite copies public/ into its build).
  mkdirSync(join(app, 'public/models'), { recursive: true });
  for (const m of ['tinystories-656k', 'stories260K']) symlinkSync(join(modelsDir, m), join(app, 'public/models', m));
  browser = await chromium.launch({ executablePath: requireChromium(), headless: true, args: CHROMIUM_ARGS });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('the packed library', () => {
  it('ships only what a user needs', () => {
    const files = run('tar', ['-tzf', join(tmp, 'd2o-webgpu-0.1.0.tgz')], tmp).trim().split('\n').map((f) => f.replace(/^package\//, ''));
    expect(files).toContain('LICENSE');
    expect(files).toContain('dist/d2o-webgpu.js');
    expect(files).toContain('dist/d2o-webgpu-worker.js');
    expect(files).toContain('dist/types/index.d.ts');
    expect(files.filter((f) => /^shaders\/|\.map$|types\/(cli|eval)\/|\.ts$/.test(f) && !f.endsWith('.d.ts'))).toEqual([]);
    expect(files.filter((f) => /types\/(cli|eval)\//.test(f))).toEqual([]);
    const dist = join(app, 'node_modules/d2o-webgpu/dist');
    const js = files.filter((f) => /^dist\/[^/]+\.js$/.test(f)).map((f) => readFileSync(join(app, 'node_modules/d2o-webgpu', f), 'utf8'));
    // Nothing a browser bundler would have to resolve for Node, nor be told to ignore; ONNX Runtime
    // (the tests' cross-check) never reaches the package.
    for (const code of js) expect(code).not.toMatch(/from ["']node:|import\(|@vite-ignore|onnxruntime|@huggingface\/transformers/);
    expect(readFileSync(join(dist, 'd2o-webgpu.js'), 'utf8')).toContain('new Worker(new URL("./d2o-webgpu-worker.js", import.meta.url)');
    expect(readFileSync(join(dist, 'types/index.d.ts'), 'utf8')).toContain("from './errors.js'");
    expect(readFileSync(join(dist, 'types/ts5.d.ts'), 'utf8')).toContain('/// <reference types="@webgpu/types" />');
  });

  it('in Node: import and require, the CPU engine, and the install line for the optional webgpu package', () => {
    const out = JSON.parse(run(process.execPath, ['node-check.mjs', join(modelsDir, 'tinystories-656k'), JSON.stringify(g.prompt_ids)], app).trim().split('\n').at(-1)!);
    expect(out.required).toBe(true);
    expect(out.ids).toEqual(expectedIds);
    expect(out.webgpu).toMatchObject({ name: 'NoWebGPUError', isNoWebGPU: true });
    expect(out.webgpu.message).toMatch(/npm install webgpu/);
    expect(out.nope).toMatchObject({ name: 'ModelFormatError', isFormat: true });
    expect(out.nope.message).toMatch(/no model at \.\/nope: no such file or folder/);
  });

  it.each([
    ['bundler', 'esnext'],
    ['node16', 'node16'],
    ['nodenext', 'nodenext'],
  ])('types: the README example and the typed API under moduleResolution %s', (moduleResolution, module) => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const example = /## Using it[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(example).toContain("from 'd2o-webgpu'");
    writeFileSync(join(app, 'readme-example.ts'), example!);
    const compilerOptions = { target: 'es2022', module, moduleResolution, lib: ['es2023', 'dom', 'dom.iterable'], types: [], strict: true, noEmit: true, skipLibCheck: false };
    writeFileSync(join(app, `tsconfig.${moduleResolution}.json`), JSON.stringify({ compilerOptions, files: ['readme-example.ts', 'types-check.ts'] }));
    run(process.execPath, [join(app, 'node_modules/typescript/bin/tsc'), '-p', `tsconfig.${moduleResolution}.json`], app);
  });
});

interface Served {
  url: string;
  close(): Promise<void>;
}

const builds: [string, () => Promise<Served>][] = [
  [
    'vite build + vite preview',
    async () => {
      await viteBuild({ root: app, configFile: false, logLevel: 'error' });
      const s = await preview({ root: app, configFile: false, logLevel: 'error', preview: { host: '127.0.0.1', port: 0 } });
      return { url: s.resolvedUrls!.local[0], close: () => s.close() };
    },
  ],
  [
    'vite dev',
    async () => {
      const s = await createServer({ root: app, configFile: false, logLevel: 'error', server: { host: '127.0.0.1', port: 0, hmr: false, watch: null } });
      await s.listen();
      return { url: s.resolvedUrls!.local[0], close: () => s.close() };
    },
  ],
  [
    'esbuild (minified) + vite preview',
    async () => {
      const out = join(app, 'dist-esbuild');
      // esbuild does not emit workers from new URL(): the app names the package's worker as a second
      // entry, written beside its bundle under the file name the library asks for.
      await esbuild({
        absWorkingDir: app,
        entryPoints: { main: 'main.ts', 'd2o-webgpu-worker': 'd2o-webgpu/worker' },
        bundle: true,
        format: 'esm',
        platform: 'browser',
        minify: true,
        outdir: out,
        logLevel: 'error',
      });
      writeFileSync(join(out, 'index.html'), readFileSync(join(app, 'index.html'), 'utf8').replace('/main.ts', '/main.js'));
      symlinkSync(join(app, 'public/models'), join(out, 'models'));
      const s = await preview({ root: app, configFile: false, logLevel: 'error', build: { outDir: 'dist-esbuild' }, preview: { host: '127.0.0.1', port: 0 } });
      return { url: s.resolvedUrls!.local[0], close: () => s.close() };
    },
  ],
];

describe.each(builds)('the scratch app in Chromium: %s', (_name, serve) => {
  it('createEngine and createWorkerEngine stream text and chat; sources resolve against the page; typed errors cross the worker', async () => {
    const server = await serve();
    const context = await browser!.newContext();
    try {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(`console.error: ${m.text()} (${m.location().url})`));
      page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
      await page.goto(server.url);
      await page.waitForFunction(() => document.title === 'ready', undefined, { timeout: 120_000 });
      type App = { app: Record<string, (...a: unknown[]) => Promise<unknown>> };
      const call = <T>(fn: string, ...args: unknown[]) => page.evaluate(([f, a]) => (window as unknown as App).app[f as string](...(a as unknown[])), [fn, args] as const) as Promise<T>;

      type Run = { ids: number[]; text: string; streamedText: string; chat: string; chunks: number };
      for (const [mode, model] of [
        ['page', '/models/tinystories-656k'],
        ['worker', './models/tinystories-656k/'],
      ]) {
        const r = await call<Run>(mode, model, g.prompt_ids);
        expect(r.ids, mode).toEqual(expectedIds);
        expect(r.streamedText, mode).toBe(r.text);
        expect(r.text.length, mode).toBeGreaterThan(20);
        expect(r.chunks, mode).toBeGreaterThan(2);
        expect(r.chat.length, mode).toBeGreaterThan(0);
      }
      // owner/name-shaped, but the site serves a model there: the site's, not the hub's.
      expect(await call('load', 'models/tinystories-656k')).toEqual({ format: 'safetensors', layers: 2, tokenizer: 'hf' });
      // A llama2.c checkpoint by URL finds tok512.bin beside it.
      expect(await call('load', '/models/stories260K/stories260K.bin')).toEqual({ format: 'llama2c', layers: 5, tokenizer: 'llama2c' });

      // The server answers a missing folder with its index.html: a typed error from the worker that says so.
      const failure = await call<{ name: string; isModelFormatError: boolean; problem: string; message: string }>('workerFailure', '/models/no-such-model');
      expect(failure).toMatchObject({ name: 'ModelFormatError', isModelFormatError: true, problem: 'missing-file' });
      expect(failure.message).toMatch(/config\.json: the server answered .*\/models\/no-such-model\/config\.json with an HTML page/);
      const cached = await call<{ path: string; status: number; type: string }[]>('cached');
      expect(cached.map((c) => c.path)).toContain('/models/tinystories-656k/model.safetensors');
      expect(cached.filter((c) => /html/.test(c.type) || c.path.includes('no-such-model'))).toEqual([]);
      // No failed request logged (the optional index of a sharded checkpoint is never asked for).
      expect(errors).toEqual([]);
    } finally {
      await context.close();
      await server.close();
    }
  });
});
