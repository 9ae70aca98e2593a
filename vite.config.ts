import { defineConfig } from 'vitest/config';
import type { Plugin } from 'vite';
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';

/** Shared checkpoints, served to the demo and browser tests at /models/ (D2O_MODELS_DIR overrides). */
const modelsDir = resolve(import.meta.dirname, process.env.D2O_MODELS_DIR ?? '../shared/models');

/** A checkpoint the demo can load: `path` (under /models/) is a Hugging Face folder or a single .gguf/.bin file. */
interface LocalModel {
  name: string;
  path: string;
  format: 'safetensors' | 'gguf' | 'llama2c';
  bytes: number;
  /** llama2.c: its tokenizer file in the same folder (a URL folder cannot be searched for it). */
  tokenizer?: string;
}

/**
 * The checkpoints in the models folder, for the demo's picker (/models/index.json). A URL folder
 * cannot be listed by the loader, so single-file formats are named by their file.
 */
function listModels(): LocalModel[] {
  if (!existsSync(modelsDir)) return [];
  const out: LocalModel[] = [];
  for (const dir of readdirSync(modelsDir).sort()) {
    const full = resolve(modelsDir, dir);
    if (!statSync(full).isDirectory()) continue;
    const files = readdirSync(full).sort();
    const size = (f: string) => statSync(resolve(full, f)).size;
    if (files.includes('config.json'))
      out.push({ name: dir, path: dir, format: 'safetensors', bytes: files.filter((f) => f.endsWith('.safetensors')).reduce((s, f) => s + size(f), 0) });
    for (const f of files.filter((f) => /\.gguf$/i.test(f))) out.push({ name: f.replace(/\.gguf$/i, ''), path: `${dir}/${f}`, format: 'gguf', bytes: size(f) });
    // llama2.c checkpoints: any .bin that is not a tokenizer (tokenizer.bin, tok512.bin).
    const tokenizer = files.includes('tokenizer.bin') ? 'tokenizer.bin' : files.find((f) => /^tok.*\.bin$/i.test(f));
    for (const f of files.filter((f) => /\.bin$/i.test(f) && !/^tok/i.test(f)))
      out.push({ name: f.replace(/\.bin$/i, ''), path: `${dir}/${f}`, format: 'llama2c', bytes: size(f), tokenizer });
  }
  return out;
}

function serveModels(): Plugin {
  return {
    name: 'd2o-serve-models',
    configureServer(server) {
      server.middlewares.use('/models', (req, res) => {
        if (req.url === '/index.json') {
          res.setHeader('Content-Type', 'application/json');
          return res.end(JSON.stringify(listModels()));
        }
        const path = resolve(modelsDir, '.' + decodeURIComponent((req.url ?? '/').split('?')[0]));
        // A real 404, not Vite's index.html fallback: loaders probe for optional files.
        if (!path.startsWith(modelsDir) || !existsSync(path) || statSync(path).isDirectory()) {
          res.statusCode = 404;
          return res.end('not found');
        }
        const st = statSync(path);
        res.setHeader('Content-Length', st.size);
        res.setHeader('Content-Type', 'application/octet-stream');
        if (req.method === 'HEAD') return res.end();
        createReadStream(path).pipe(res);
      });
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
  plugins: [serveModels()],
  // `npm run build`: the library (ES module, worker chunk, shaders inlined) in dist/; the .d.ts
  // files come from tsconfig.build.json. Dependencies stay imports, resolved by the user's bundler.
  build: {
    lib: { entry: { 'd2o-webgpu': resolve(import.meta.dirname, 'src/index.ts') }, formats: ['es'] },
    outDir: 'dist',
    target: 'es2022',
    sourcemap: true,
    rollupOptions: { external: [/^node:/, 'webgpu', /^@huggingface\//] },
  },
  worker: { format: 'es' },
  server: { host: '127.0.0.1', fs: { allow: [import.meta.dirname, modelsDir] } },
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
