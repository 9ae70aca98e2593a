/**
 * Repo ids in Chromium against a local server laid out as the hub (another origin, CORS as the hub
 * sends it): hfEndpoint, progress events, the Cache API (kept files revalidated with their ETag: 304s
 * and no download when unchanged, the new file when it changed), a gated repo's GatedModelError in the
 * page and across the worker, hfToken.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { hubLoadCase, hubWorkerCase } from '../cases/hub-access';
import { useBrowserPage } from '../helpers/browser';
import { startHub, type HubServer } from '../helpers/hub-server';
import { tinystories656k } from '../helpers/models';

const browser = useBrowserPage();
let hub: HubServer;
beforeAll(async () => {
  hub = await startHub([
    { id: 'd2o-test/tinystories-656k', dir: tinystories656k.dir },
    { id: 'd2o-test/gated', dir: tinystories656k.dir, token: 'hf_secret' },
  ]);
});
afterAll(() => hub?.close());

type Load = Awaited<ReturnType<typeof hubLoadCase>>;
const repo = 'd2o-test/tinystories-656k';
const load = (o: { repo: string; token?: string; clear?: boolean }) => browser.run<Load>('/test/cases/hub-access.ts', 'hubLoadCase', { endpoint: hub.endpoint, ...o });

describe('Hugging Face repo ids in Chromium', () => {
  it('loads with progress into the Cache API; a second load revalidates (304, nothing downloaded); a changed file is fetched again', async () => {
    const first = await load({ repo, clear: true });
    if (!first.ok) throw new Error(first.message);
    expect(first.layers).toBe(2);
    expect(first.progress.count).toBeGreaterThan(1);
    expect(first.progress.last!.loaded).toBe(first.progress.last!.total);
    expect(first.cached).toContain(`/${repo}/resolve/main/model.safetensors`);
    expect(first.cached).toContain(`/${repo}/resolve/main/config.json`);
    expect(hub.log.some((l) => l.path === `/storage/${repo}/model.safetensors` && l.status === 200)).toBe(true);

    const mark = hub.log.length;
    const again = await load({ repo });
    expect(again.ok).toBe(true);
    const second = hub.log.slice(mark).filter((l) => l.method === 'GET');
    expect(second.length).toBeGreaterThan(0);
    expect(second.filter((l) => l.status === 200)).toEqual([]);
    expect(second.every((l) => l.conditional && (l.status === 304 || l.status === 302))).toBe(true);

    const temperature = 0.33;
    hub.update(repo, 'generation_config.json', new TextEncoder().encode(JSON.stringify({ bos_token_id: 1, eos_token_id: 2, temperature })));
    const changed = await load({ repo });
    if (!changed.ok) throw new Error(changed.message);
    expect(changed.generationConfig).toMatchObject({ temperature });
  });

  it('a gated repo: GatedModelError in the page and across the worker, with its fields; the token opens it', async () => {
    const denied = await load({ repo: 'd2o-test/gated' });
    expect(denied).toMatchObject({ ok: false, name: 'GatedModelError', isGated: true, repo: 'd2o-test/gated', status: 401 });
    if (!denied.ok) expect(denied.message).toMatch(/hfToken/);
    const fromWorker = await browser.run<Awaited<ReturnType<typeof hubWorkerCase>>>('/test/cases/hub-access.ts', 'hubWorkerCase', { endpoint: hub.endpoint, repo: 'd2o-test/gated' });
    expect(fromWorker).toMatchObject({ name: 'GatedModelError', isGated: true, repo: 'd2o-test/gated', status: 401 });
    const opened = await load({ repo: 'd2o-test/gated', token: 'hf_secret' });
    expect(opened).toMatchObject({ ok: true, layers: 2 });
    expect(hub.log.filter((l) => l.path.startsWith('/d2o-test/gated/') && l.status === 200).every((l) => l.auth)).toBe(true);
  });
  it('owner/name that the site does not serve is taken as a repo id, and the error says so', async () => {
    const r = await load({ repo: 'd2o-test/nope' });
    expect(r).toMatchObject({ ok: false, name: 'ModelFormatError' });
    if (!r.ok) expect(r.message, r.message).toMatch(/d2o-test\/nope taken as a Hugging Face repo id: http:\/\/127\.0\.0\.1:\d+\/test\/browser\/page\/d2o-test\/nope serves no config\.json/);
  });
});
