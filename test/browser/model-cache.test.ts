import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBrowser, runCase, TEST_PAGE, type BrowserSession } from '../helpers/browser';

let s: BrowserSession;
beforeAll(async () => {
  s = await openBrowser();
});
afterAll(() => s?.close());

describe('downloads kept in the Cache API', () => {
  it('a reload downloads nothing: the kept files are only revalidated (304 to their ETag)', async () => {
    const requests: string[] = [];
    s.page.on('response', (r) => {
      if (new URL(r.url()).pathname.startsWith('/models/')) requests.push(`${r.request().method()} ${new URL(r.url()).pathname} ${r.status()}`);
    });
    const model = `${s.baseUrl}/models/tinystories-656k`;
    const first = await runCase<{ layers: number; cached: string[] }>(s.page, '/test/cases/model-cache.ts', 'loadForCacheCase', { model, clear: true });
    expect(first.layers).toBe(2);
    expect(first.cached).toContain('/models/tinystories-656k/model.safetensors');
    expect(first.cached).toContain('/models/tinystories-656k/tokenizer.json');
    expect(requests.length).toBeGreaterThan(0);

    requests.length = 0;
    await s.page.reload();
    await s.page.waitForFunction(() => document.title === 'ready');
    expect(s.page.url()).toContain(TEST_PAGE);
    const again = await runCase<{ layers: number }>(s.page, '/test/cases/model-cache.ts', 'loadForCacheCase', { model });
    expect(again.layers).toBe(2);
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.filter((r) => !/^GET .* 304$/.test(r))).toEqual([]);
  });
});
