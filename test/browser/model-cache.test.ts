import { describe, expect, it } from 'vitest';
import { TEST_PAGE, useBrowserPage } from '../helpers/browser';

const browser = useBrowserPage();

describe('downloads kept in the Cache API', () => {
  it('a reload downloads nothing: the kept files are only revalidated (304 to their ETag)', async () => {
    const requests: string[] = [];
    browser.page.on('response', (r) => {
      if (new URL(r.url()).pathname.startsWith('/models/')) requests.push(`${r.request().method()} ${new URL(r.url()).pathname} ${r.status()}`);
    });
    const model = `${browser.session.baseUrl}/models/tinystories-656k`;
    const first = await browser.run<{ layers: number; cached: string[] }>('/test/cases/model-cache.ts', 'loadForCacheCase', { model, clear: true });
    expect(first.layers).toBe(2);
    expect(first.cached).toContain('/models/tinystories-656k/model.safetensors');
    expect(first.cached).toContain('/models/tinystories-656k/tokenizer.json');
    expect(requests.length).toBeGreaterThan(0);

    requests.length = 0;
    await browser.page.reload();
    await browser.page.waitForFunction(() => document.title === 'ready');
    expect(browser.page.url()).toContain(TEST_PAGE);
    const again = await browser.run<{ layers: number }>('/test/cases/model-cache.ts', 'loadForCacheCase', { model });
    expect(again.layers).toBe(2);
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.filter((r) => !/^GET .* 304$/.test(r))).toEqual([]);
  });
});
