import { defineConfig } from 'vitest/config';
import type { Plugin } from 'vite';
import { createReadStream, readdirSync, realpathSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { resolve, sep } from 'node:path';

/** Shared checkpoints, served to the demo and browser tests at /models/ (D2O_MODELS_DIR overrides). */
const modelsDir = resolve(import.meta.dirname, process.env.D2O_MODELS_DIR ?? '../shared/models');
/** Files made here (`npm run quantize`), served at /models/ after them (D2O_LOCAL_MODELS_DIR overrides). */
const localModelsDir = resolve(import.meta.dirname, process.env.D2O_LOCAL_MODELS_DIR ?? 'models-local');

/*
 * The /models/ route: the demo's model list and the model files. It serves regular files inside the
 * models folder and nothing else: the containment check is separator-aware (`models-private` is
 * not inside `models`), symlinks may point only inside the folder, a path that cannot be decoded
 * is a 400, and no answer shows a stack or an absolute path (test/unit/serve-models.test.ts).
 */

interface LocalModel {
  name: string;
  path: string;
  format: 'safetensors' | 'gguf' | 'llama2c';
  bytes: number;
  /** llama2.c: its tokenizer file in the same folder (a URL folder cannot be searched for it). */
  tokenizer?: string;
}

const inside = (root: string, path: string) => path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);

/** The real path of `path` when it and every link on the way stay inside `root` (itself real), else null. */
function contained(root: string, path: string): string | null {
  if (!inside(root, path)) return null;
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return null;
  }
  return inside(root, real) ? real : null;
}

/** The folder's own real path (it may itself be reached through a link), or null when it is absent. */
function realRoot(dir: string): string | null {
  try {
    return realpathSync(dir);
  } catch {
    return null;
  }
}

/** A regular file's size, else null (folders, FIFOs, devices, sockets and missing files alike). */
function fileSize(path: string): number | null {
  try {
    const st = statSync(path);
    return st.isFile() ? st.size : null;
  } catch {
    return null;
  }
}

/**
 * The checkpoints in the models folder, for the demo's picker (/models/index.json). A URL folder
 * cannot be listed by the loader, so single-file formats are named by their file. Entries that
 * are not regular files, or that lead out of the folder, are left out.
 */
function listModels(modelsDir: string): LocalModel[] {
  const root = realRoot(modelsDir);
  if (!root) return [];
  const out: LocalModel[] = [];
  for (const dir of readdirSync(root).sort()) {
    const full = contained(root, resolve(root, dir));
    if (!full || !statSync(full).isDirectory()) continue;
    const size = (f: string) => {
      const real = contained(root, resolve(full, f));
      return real ? fileSize(real) : null;
    };
    const files = readdirSync(full)
      .sort()
      .filter((f) => size(f) !== null);
    if (files.includes('config.json'))
      out.push({ name: dir, path: dir, format: 'safetensors', bytes: files.filter((f) => f.endsWith('.safetensors')).reduce((s, f) => s + size(f)!, 0) });
    for (const f of files.filter((f) => /\.gguf$/i.test(f))) out.push({ name: f.replace(/\.gguf$/i, ''), path: `${dir}/${f}`, format: 'gguf', bytes: size(f)! });
    // llama2.c checkpoints: any .bin that is not a tokenizer (tokenizer.bin, tok512.bin).
    const tokenizer = files.includes('tokenizer.bin') ? 'tokenizer.bin' : files.find((f) => /^tok.*\.bin$/i.test(f));
    for (const f of files.filter((f) => /\.bin$/i.test(f) && !/^tok/i.test(f)))
      out.push({ name: f.replace(/\.bin$/i, ''), path: `${dir}/${f}`, format: 'llama2c', bytes: size(f)!, tokenizer });
  }
  return out;
}

/**
 * The route's handler, for a server that strips the mount point from `req.url` (connect's
 * `use('/models', ...)`, which Vite uses). Answers: 200 with the file (and an ETag; 304 when the
 * request has it), 400 for a path that cannot be
 * decoded, 404 for anything that is not a regular file inside the folder (a real 404, not Vite's
 * index.html fallback: loaders probe for optional files), 405 for methods other than GET and HEAD.
 */
function modelsRoute(modelsDirs: string[]): (req: IncomingMessage, res: ServerResponse) => void {
  const answer = (res: ServerResponse, status: number, text: string) => {
    res.statusCode = status;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end(text);
  };
  return (req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return answer(res, 405, 'method not allowed');
    if (url === '/index.json') {
      res.setHeader('Content-Type', 'application/json');
      return res.end(JSON.stringify(modelsDirs.flatMap(listModels)));
    }
    let name: string;
    try {
      name = decodeURIComponent(url);
    } catch {
      return answer(res, 400, 'bad request: the path is not a valid percent-encoded URL');
    }
    if (name.includes('\0')) return answer(res, 400, 'bad request: the path holds a NUL byte');
    // The first folder that holds the file.
    let real: string | null = null;
    let size: number | null = null;
    for (const dir of modelsDirs) {
      const root = realRoot(dir);
      real = root && contained(root, resolve(root, '.' + name));
      size = real ? fileSize(real) : null;
      if (size !== null) break;
    }
    if (real === null || size === null) return answer(res, 404, 'not found');
    // A validator, so the page's Cache API copy is revalidated (304) and a file rewritten in place
    // (npm run quantize into models-local/) is fetched again instead of served stale.
    const etag = `W/"${size}-${Math.floor(statSync(real).mtimeMs)}"`;
    res.setHeader('ETag', etag);
    if (req.headers['if-none-match'] === etag) {
      res.statusCode = 304;
      return res.end();
    }
    res.setHeader('Content-Length', size);
    res.setHeader('Content-Type', 'application/octet-stream');
    if (req.method === 'HEAD') return res.end();
    createReadStream(real)
      .on('error', () => res.destroy())
      .pipe(res);
  };
}

function serveModels(): Plugin {
  return {
    name: 'd2o-serve-models',
    configureServer(server) {
      server.middlewares.use('/models', modelsRoute([modelsDir, localModelsDir]));
    },
  };
}

/**
 * The library build keeps `new Worker(new URL('./d2o-webgpu-worker.js', import.meta.url), ...)` as
 * written, for the app's bundler to find and emit (the worker is a second entry of the build, so it
 * shares a chunk with the main module instead of carrying its own copy). Left to itself, Vite would
 * bundle the worker here and bake an absolute /assets/ URL that apps never emit. So the URL is a
 * placeholder while this build transforms (Vite's worker plugin never sees the pattern) and is
 * written back, relative, in the output.
 */
function libraryWorker(): Plugin {
  const placeholder = '__D2O_WORKER_URL__';
  const pattern = "new URL('./worker.ts', import.meta.url)";
  let found = false;
  return {
    name: 'd2o-library-worker',
    apply: (config, env) => env.command === 'build' && !!config.build?.lib,
    enforce: 'pre',
    buildStart() {
      found = false;
    },
    transform(code, id) {
      if (!/\/src\/.*\.ts$/.test(id) || !code.includes(pattern)) return;
      found = true;
      return code.replace(pattern, placeholder);
    },
    buildEnd() {
      if (!found) this.error(`no module of src/ creates the engine's worker with ${pattern}: the library's worker URL cannot be written`);
    },
    renderChunk(code) {
      return code.includes(placeholder) ? code.replace(placeholder, 'new URL("./d2o-webgpu-worker.js", import.meta.url)') : null;
    },
  };
}

/**
 * One config for the demo (`npm run demo`: `vite demo --config vite.config.ts`, root demo/), the
 * browser tests' dev server (test/helpers/browser.ts: createServer() picks this file up from the
 * project root), the library build (`build`) and Vitest.
 *
 * Vitest projects (run one at a time by scripts/test-all.mjs, the machine has 2 cores):
 * - unit:     test/unit/**, plain Node;
 * - gpu-node: test/gpu-node/**, Node + Dawn (`webgpu`) on Mesa lavapipe; one fork at a time
 *             (lavapipe uses both cores), each file in its own fork with its own device;
 * - browser:  test/browser/**, Node-side tests driving Debian Chromium (SwiftShader) through
 *             playwright-core against a Vite dev server on 127.0.0.1; one file (one Chromium) at a time;
 * - e2e:      test/e2e/**, the demo end to end: its own dev server (as `npm run demo`) and Debian
 *             Chromium (SwiftShader) clicking through it; screenshots under test-results/e2e/.
 */
const gpuSerial = { pool: 'forks', maxWorkers: 1, fileParallelism: false } as const;

export default defineConfig({
  plugins: [serveModels(), libraryWorker()],
  // `npm run build`: the library in dist/ (see libraryWorker): d2o-webgpu.js, its worker
  // d2o-webgpu-worker.js and their shared chunk, shaders inlined, not minified (the app's bundler
  // minifies), no source maps, no doc comments. Dependencies stay imports, resolved by the app's bundler. The .d.ts
  // files come from scripts/build-types.mjs.
  build: {
    lib: {
      entry: { 'd2o-webgpu': resolve(import.meta.dirname, 'src/index.ts'), 'd2o-webgpu-worker': resolve(import.meta.dirname, 'src/engine/worker.ts') },
      formats: ['es'],
    },
    outDir: 'dist',
    target: 'es2022',
    minify: false,
    sourcemap: false,
    rollupOptions: {
      external: [/^node:/, 'webgpu', /^@huggingface\//],
      // The .d.ts carry the documentation; annotations (@__PURE__) stay for the app's tree-shaking.
      output: { comments: { legal: true, annotation: true, jsdoc: false } },
    },
  },
  worker: { format: 'es' },
  server: { host: '127.0.0.1', fs: { allow: [import.meta.dirname, modelsDir, localModelsDir] } },
  test: {
    projects: [
      // Some unit tests spawn the CLI or a build: generous timeouts (nothing here asserts a timing).
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'], environment: 'node', testTimeout: 120_000 } },
      {
        extends: true,
        test: { name: 'gpu-node', include: ['test/gpu-node/**/*.test.ts'], environment: 'node', ...gpuSerial, testTimeout: 120_000, hookTimeout: 60_000 },
      },
      {
        extends: true,
        test: { name: 'browser', include: ['test/browser/**/*.test.ts'], environment: 'node', ...gpuSerial, testTimeout: 300_000, hookTimeout: 180_000 },
      },
      {
        extends: true,
        test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], environment: 'node', ...gpuSerial, testTimeout: 300_000, hookTimeout: 180_000 },
      },
    ],
  },
});
