/**
 * Repo ids end to end in Node against a local server laid out as the hub (test/helpers/hub-server.ts):
 * hfEndpoint, revision, hfToken for a gated repo, redirects, progress, optional files, typed errors.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../src/engine/engine';
import { GatedModelError, LoadError, ModelFormatError } from '../../src/errors';
import { loadModel } from '../../src/model/load';
import type { LoadProgress } from '../../src/model/types';
import { startHub, type HubServer } from '../helpers/hub-server';
import { golden, stories260K, tinystories656k } from '../helpers/models';

const root = resolve(import.meta.dirname, '../..');
let hub: HubServer;
beforeAll(async () => {
  hub = await startHub([
    { id: 'd2o-test/tinystories-656k', dir: tinystories656k.dir },
    { id: 'd2o-test/stories260K', dir: stories260K.dir },
    { id: 'd2o-test/gated', dir: tinystories656k.dir, token: 'hf_secret' },
  ]);
});
afterAll(() => hub?.close());

describe('Hugging Face repo ids against a hub-shaped server', () => {
  it('loads through hfEndpoint with progress, following the redirect for weights, and generates the golden ids', async () => {
    const progress: LoadProgress[] = [];
    const engine = await createEngine({ model: 'd2o-test/tinystories-656k', hfEndpoint: hub.endpoint, backend: 'cpu', onProgress: (p) => progress.push(p) });
    const g = golden['tinystories-656k'];
    const r = await engine.generate(g.prompt_ids, { greedy: true, maxTokens: 30, stopAtEos: false }).result;
    expect([...g.prompt_ids, ...r.ids]).toEqual(g.greedy_ids.slice(0, 31));
    expect(progress.length).toBeGreaterThan(1);
    const last = progress.at(-1)!;
    expect(last.loaded).toBe(last.total);
    expect(last.total).toBeGreaterThan(2_000_000); // the weights and tokenizer.json
    const paths = hub.log.map((l) => `${l.method} ${l.path} ${l.status}`);
    expect(paths).toContain('GET /d2o-test/tinystories-656k/resolve/main/model.safetensors 302');
    expect(paths).toContain('GET /storage/d2o-test/tinystories-656k/model.safetensors 200');
    // The folder has model.safetensors: the sharded index is never asked for.
    expect(paths.some((p) => p.includes('model.safetensors.index.json'))).toBe(false);
  });

  it('a revision is part of the path; one the repo lacks is a missing file', async () => {
    await expect(loadModel('d2o-test/tinystories-656k', { hfEndpoint: hub.endpoint, revision: 'v2' })).rejects.toThrow(/resolve\/v2\//);
  });

  it('a llama2.c repo finds tok<vocab>.bin beside the checkpoint by URL', async () => {
    const start = hub.log.length;
    const m = await loadModel(`${hub.endpoint}/d2o-test/stories260K/resolve/main/stories260K.bin`);
    expect(m.format).toBe('llama2c');
    expect(m.tokenizer).toMatchObject({ kind: 'llama2c', vocabSize: 512 });
    expect(hub.log.slice(start).filter((l) => l.status === 404)).toEqual([]);
  });

  it('a gated repo: 401 is a GatedModelError that says how to pass a token; the token opens it and goes to the endpoint only', async () => {
    const e = await loadModel('d2o-test/gated', { hfEndpoint: hub.endpoint }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(GatedModelError);
    expect(e).toBeInstanceOf(LoadError);
    expect(e).toMatchObject({ name: 'GatedModelError', repo: 'd2o-test/gated', status: 401 });
    expect((e as Error).message).toMatch(/gated or private.*hfToken/);
    const wrong = await loadModel('d2o-test/gated', { hfEndpoint: hub.endpoint, hfToken: 'hf_wrong' }).catch((x: unknown) => x);
    expect((wrong as Error).message).toMatch(/token was refused/);
    const m = await loadModel('d2o-test/gated', { hfEndpoint: hub.endpoint, hfToken: 'hf_secret' });
    expect(m.config.numLayers).toBe(2);
    expect(hub.log.filter((l) => l.path.startsWith('/d2o-test/gated/') && l.status === 200).every((l) => l.auth)).toBe(true);
  });

  it('a repo the hub does not have, and a path that is not a repo id, say which they were taken for', async () => {
    const e = await loadModel('d2o-test/nope', { hfEndpoint: hub.endpoint }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ModelFormatError);
    expect((e as Error).message).toMatch(/d2o-test\/nope taken as a Hugging Face repo id: there is no file or folder d2o-test\/nope here/);
    const local = await loadModel('./d2o-test/nope', { hfEndpoint: hub.endpoint }).catch((x: unknown) => x);
    expect((local as Error).message).toMatch(/no model at \.\/d2o-test\/nope: no such file or folder/);
    expect(hub.log.some((l) => l.path.includes('./'))).toBe(false);
  });
  it('the CLI takes a gated repo id with HF_TOKEN and HF_ENDPOINT, and --revision', async () => {
    const run = (env: Record<string, string>, ...extra: string[]) =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((done) => {
        const args = ['--import', 'tsx', 'src/cli/main.ts', 'generate', '--model', 'd2o-test/gated', '--backend', 'cpu', '--prompt-ids', '1', '--max-tokens', '5', '--greedy', '--json', ...extra];
        execFile(process.execPath, args, { cwd: root, env: { ...process.env, HF_ENDPOINT: hub.endpoint, ...env } }, (e, stdout, stderr) =>
          done({ status: e ? (e.code as number) : 0, stdout, stderr }),
        );
      });
    const [ok, denied, revision] = await Promise.all([run({ HF_TOKEN: 'hf_secret' }), run({ HF_TOKEN: '' }), run({ HF_TOKEN: 'hf_secret' }, '--revision', 'v2')]);
    expect(ok.status, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).ids).toEqual(golden['tinystories-656k'].greedy_ids.slice(0, 6)); // the prompt and 5 tokens
    expect(denied.status).toBe(1);
    expect(denied.stderr).toMatch(/^error: .*d2o-test\/gated is gated or private.*hfToken/);
    expect(revision.stderr).toMatch(/resolve\/v2\//);
  });
});
