/**
 * The demo server's /models/ route, probed as a hostile client would, through the real Vite dev
 * server built from vite.config.ts (D2O_MODELS_DIR pointed at a scratch folder). Requests go out
 * with raw paths (node:http), since fetch would normalise the `..` segments away.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const scratch = mkdtempSync(join(tmpdir(), 'd2o-serve-'));
const models = join(scratch, 'models');
let server: ViteDevServer;
let port: number;

function get(path: string, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((ok, fail) => {
    const req = request({ host: '127.0.0.1', port, path, method }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString('latin1')));
      res.on('end', () => ok({ status: res.statusCode!, body }));
    });
    req.on('error', fail);
    req.end();
  });
}

beforeAll(async () => {
  mkdirSync(join(models, 'tiny'), { recursive: true });
  mkdirSync(join(scratch, 'models-private'));
  mkdirSync(join(models, 'dir.gguf'));
  writeFileSync(join(models, 'tiny', 'config.json'), '{"ok":1}');
  writeFileSync(join(models, 'tiny', 'model.safetensors'), 'weights');
  writeFileSync(join(models, 'a.gguf.txt'), 'top-level file');
  writeFileSync(join(scratch, 'models-private', 'secret.txt'), 'SECRET');
  writeFileSync(join(scratch, 'outside.txt'), 'OUTSIDE');
  symlinkSync(join(scratch, 'outside.txt'), join(models, 'tiny', 'link-out.bin'));
  symlinkSync(join(scratch, 'models-private'), join(models, 'private-dir'));
  symlinkSync(join(models, 'tiny', 'config.json'), join(models, 'tiny', 'link-in.json'));
  execFileSync('mkfifo', [join(models, 'tiny', 'fifo.gguf')]);
  process.env.D2O_MODELS_DIR = models;
  // The second folder (npm run quantize writes there): listed and served after the first.
  mkdirSync(join(scratch, 'local', 'made'), { recursive: true });
  writeFileSync(join(scratch, 'local', 'made', 'made-q4_k_m.gguf'), 'GGUF made here');
  process.env.D2O_LOCAL_MODELS_DIR = join(scratch, 'local');
  server = await createServer({ configFile: join(root, 'vite.config.ts'), root, logLevel: 'silent', server: { port: 0, host: '127.0.0.1', hmr: false, watch: null } });
  await server.listen();
  port = (server.httpServer!.address() as { port: number }).port;
});

afterAll(async () => {
  await server?.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe('the /models/ route', () => {
  it('serves regular files inside the folder, links that stay inside included', async () => {
    expect(await get('/models/tiny/config.json')).toEqual({ status: 200, body: '{"ok":1}' });
    expect(await get('/models/tiny/link-in.json')).toEqual({ status: 200, body: '{"ok":1}' });
    expect(await get('/models/tiny/model%2Esafetensors')).toEqual({ status: 200, body: 'weights' });
    expect((await get('/models/tiny/config.json', 'HEAD')).status).toBe(200);
  });

  it('lists only regular files inside the folder', async () => {
    const list = JSON.parse((await get('/models/index.json')).body) as { path: string }[];
    expect(list.map((m) => m.path)).toEqual(['tiny', 'made/made-q4_k_m.gguf']);
  });
  it('serves the second folder\'s files after the first\'s', async () => {
    expect(await get('/models/made/made-q4_k_m.gguf')).toEqual({ status: 200, body: 'GGUF made here' });
    expect((await get('/models/made/other.gguf')).status).toBe(404);
  });

  it.each([
    '/models/../models-private/secret.txt',
    '/models/%2e%2e/models-private/secret.txt',
    '/models/..%2fmodels-private/secret.txt',
    '/models/%2E%2E%2Fmodels-private%2Fsecret.txt',
    '/models/..%5cmodels-private%5csecret.txt',
    '/models/../outside.txt',
    '/models/tiny/link-out.bin',
    '/models/private-dir/secret.txt',
    '/models/tiny/fifo.gguf',
    '/models/dir.gguf',
    '/models/tiny',
    '/models/',
    '/models/nope.bin',
  ])('%s is a 404 that gives nothing away', async (path) => {
    const r = await get(path);
    expect(r.status).toBe(404);
    expect(r.body).toBe('not found');
  });

  it.each(['/models/%', '/models/%zz/config.json', '/models/tiny/%E0%A4%A', '/models/tiny/config.json%00.txt'])('%s is a 400 without a stack or a path', async (path) => {
    const r = await get(path);
    expect(r.status).toBe(400);
    expect(r.body).toMatch(/^bad request/);
    expect(r.body).not.toContain(scratch);
    expect(r.body).not.toMatch(/\bat \w|Error/);
  });

  it('answers other methods with 405', async () => {
    expect((await get('/models/tiny/config.json', 'DELETE')).status).toBe(405);
  });
});
