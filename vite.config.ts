import { defineConfig } from 'vitest/config';
import type { Plugin } from 'vite';
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';

/** Shared checkpoints, served to the demo and browser tests at /models/ (D2O_MODELS_DIR overrides). */
const modelsDir = resolve(import.meta.dirname, process.env.D2O_MODELS_DIR ?? '../shared/models');

function serveModels(): Plugin {
  return {
    name: 'd2o-serve-models',
    configureServer(server) {
      server.middlewares.use('/models', (req, res) => {
        if (req.url === '/index.json') {
          const names = existsSync(modelsDir) ? readdirSync(modelsDir).filter((n) => statSync(resolve(modelsDir, n)).isDirectory()) : [];
          res.setHeader('Content-Type', 'application/json');
          return res.end(JSON.stringify(names));
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
 * project root) and Vitest. A library build of src/index.ts will go under `build` here.
 *
 * Vitest projects (run one at a time by scripts/test-all.mjs, the machine has 2 cores):
 * - unit:     test/unit/**, plain Node;
 * - gpu-node: test/gpu-node/**, Node + Dawn (`webgpu`) on Mesa lavapipe; one fork at a time
 *             (lavapipe uses both cores), each file in its own fork with its own device;
 * - browser:  test/browser/**, Node-side tests driving Debian Chromium (SwiftShader) through
 *             playwright-core against a Vite dev server on 127.0.0.1; one file (one Chromium) at a time.
 */
const gpuSerial = { pool: 'forks', maxWorkers: 1, fileParallelism: false } as const;

export default defineConfig({
  plugins: [serveModels()],
  server: { host: '127.0.0.1', fs: { allow: [import.meta.dirname, modelsDir] } },
  test: {
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'], environment: 'node' } },
      {
        extends: true,
        test: { name: 'gpu-node', include: ['test/gpu-node/**/*.test.ts'], environment: 'node', ...gpuSerial, testTimeout: 120_000, hookTimeout: 60_000 },
      },
      {
        extends: true,
        test: { name: 'browser', include: ['test/browser/**/*.test.ts'], environment: 'node', ...gpuSerial, testTimeout: 300_000, hookTimeout: 180_000 },
      },
    ],
  },
});
