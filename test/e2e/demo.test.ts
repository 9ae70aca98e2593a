/**
 * The chat demo end to end in Debian Chromium on SwiftShader: the dev server as `npm run demo`
 * runs it, TinyStories-656K from the local models folder, D2O with a 32-token budget, a story long
 * enough to pass it several times over. Screenshots go to test-results/e2e/ (git-ignored).
 *
 * The tests run in order on one page, as a user would: a corrupt model first (the page must keep
 * working), then a real model, a stop, and last a page without WebGPU. Without Chromium or WebGPU
 * they fail, never skip.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { gotoDemo, openDemo, ROOT, type DemoSession } from './demo-session';

const MODELS = resolve(ROOT, process.env.D2O_MODELS_DIR ?? '../shared/models');
const BUDGET = 32;

let s: DemoSession;
let opened: Promise<DemoSession> | undefined;
let corruptDir: string | undefined;

/**
 * The session, opened by the first test that needs it: without Chromium every test then fails
 * with the install command (a failing beforeAll would only mark them skipped).
 */
async function demo(): Promise<DemoSession> {
  opened ??= openDemo().then(async (session) => {
    await gotoDemo(session);
    return session;
  });
  s = await opened;
  return s;
}

afterAll(async () => {
  await (await opened?.catch(() => undefined))?.close();
  if (corruptDir) rmSync(corruptDir, { recursive: true, force: true });
});

/** Clicks Load and waits for the outcome; a failed load fails here with the page's message. */
async function load(page: Page): Promise<void> {
  await page.click('#load');
  await page.waitForFunction(() => document.body.dataset.state !== 'loading', undefined, { timeout: 120_000 });
  const state = await page.evaluate(() => document.body.dataset.state);
  expect(state, `loading failed: ${await page.locator('#load-status').textContent()}`).toBe('ready');
}

/** Uncaught exceptions in the page fail the test (console 404s are the loader probing optional files). */
function expectNoPageErrors(): void {
  expect(s.errors.filter((e) => e.startsWith('pageerror'))).toEqual([]);
}

function waitState(page: Page, state: string, timeout = 120_000): Promise<unknown> {
  return page.waitForFunction((want) => document.body.dataset.state === want, state, { timeout });
}

/** The statistics panel's numbers (data-* attributes written by demo/stats.ts). */
async function stats(page: Page) {
  const d = await page.evaluate(() => ({ ...document.getElementById('stats')!.dataset }));
  return {
    policy: d.policy,
    sequenceLength: Number(d.sequenceLength),
    evictions: Number(d.evictions),
    merges: Number(d.merges),
    bytesAllocated: Number(d.bytesAllocated),
    bytesFull: Number(d.bytesFull),
    layers: Number(d.layers),
  };
}

/** Sends a message and records the reply's length at every DOM change while it streams. */
async function sendAndWatch(page: Page, text: string): Promise<{ lengthsWhileGenerating: number[]; reply: string; meta: string; outcome: string }> {
  await page.evaluate(() => {
    const w = window as unknown as { __lengths: number[]; __observer?: MutationObserver };
    w.__observer?.disconnect();
    w.__lengths = [];
    const list = document.getElementById('messages')!;
    const observer = (w.__observer = new MutationObserver(() => {
      const replies = list.querySelectorAll('.msg.assistant .text');
      const last = replies[replies.length - 1];
      if (last && document.body.dataset.state === 'generating') w.__lengths.push(last.textContent!.length);
    }));
    observer.observe(list, { subtree: true, childList: true, characterData: true });
  });
  await page.fill('#prompt', text);
  await page.click('#send');
  await waitState(page, 'ready');
  return page.evaluate(() => {
    const replies = document.querySelectorAll<HTMLElement>('#messages .msg.assistant');
    const last = replies[replies.length - 1];
    return {
      lengthsWhileGenerating: (window as unknown as { __lengths: number[] }).__lengths,
      reply: last.querySelector('.text')!.textContent!,
      meta: last.querySelector('.meta')?.textContent ?? '',
      outcome: last.dataset.outcome ?? '',
    };
  });
}

describe('chat demo in Chromium (SwiftShader)', () => {
  it('opens with WebGPU detected and the local models listed', async () => {
    const { page } = await demo();
    const badge = await page.locator('#device').textContent();
    expect(badge, 'the demo found no WebGPU adapter in Chromium: the e2e tests need Chromium with SwiftShader (--enable-unsafe-webgpu)').toMatch(/^WebGPU/);
    const options = await page.locator('#local-model option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(options).toContain('tinystories-656k');
    expect(await page.locator('#messages .empty h3').textContent()).toContain('Load a model');
    expect(await page.locator('#send').isDisabled()).toBe(true);
    await s.screenshot('01-start');
    await s.screenshot('01-start', { width: 390, height: 844 });
    await page.setViewportSize({ width: 1280, height: 800 });
    expectNoPageErrors();
  });

  it('a corrupt model file shows an error without breaking the page', async () => {
    const { page } = await demo();
    // A truncated copy of TinyStories-656K's weights beside its real json files, picked as files.
    corruptDir = mkdtempSync(join(tmpdir(), 'd2o-e2e-corrupt-'));
    const src = join(MODELS, 'tinystories-656k');
    const files = ['config.json', 'generation_config.json', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json'];
    for (const f of files) writeFileSync(join(corruptDir, f), readFileSync(join(src, f)));
    const weights = readFileSync(join(src, 'model.safetensors'));
    writeFileSync(join(corruptDir, 'model.safetensors'), weights.subarray(0, Math.floor(weights.length / 2)));

    await page.click('#tab-files');
    await page.setInputFiles('#files', [...files, 'model.safetensors'].map((f) => join(corruptDir!, f)));
    expect(await page.locator('#files-summary').textContent()).toContain('6 files');
    await page.click('#load');
    await waitState(page, 'idle');
    const notice = page.locator('#load-status .notice');
    await notice.waitFor();
    expect(await notice.locator('strong').textContent()).toBe('The model files are damaged or incomplete');
    expect(await notice.textContent()).toContain('model.safetensors');
    expect(await page.locator('#model-info').textContent()).toBe('No model loaded');
    // Still usable: the controls are enabled again for another model.
    expect(await page.locator('#load').isDisabled()).toBe(false);
    expect(await page.locator('#tab-local').isDisabled()).toBe(false);
    await s.screenshot('02-corrupt-model');
    expectNoPageErrors();
  });

  it(`D2O with a ${BUDGET}-token budget: tokens stream, evictions and merges, KV memory under the full cache, the KV map`, async () => {
    const { page } = await demo();
    await page.click('#tab-local');
    await page.selectOption('#local-model', 'tinystories-656k');
    await page.selectOption('#policy', 'd2o');
    await page.selectOption('#budget-unit', 'tokens');
    await page.fill('#budget', String(BUDGET));
    await load(page);
    // The default: the engine runs in a Web Worker.
    expect(await page.locator('#load-status').textContent()).toMatch(/^Loaded in .* on WebGPU \(in a worker\)/);
    expect(await page.locator('#model-info').textContent()).toContain('2 layers');
    await s.screenshot('03-loaded');

    // The story model's default sampling (temperature 0.7, fixed seed) writes well past 2x the budget.
    await page.fill('#max-tokens', '300');
    await page.fill('#temperature', '0.7');
    const first = await sendAndWatch(page, 'Once upon a time');
    // Streamed: the reply grew over many DOM updates while the page was generating.
    const growing = new Set(first.lengthsWhileGenerating.filter((n) => n > 0));
    expect(growing.size, `reply lengths seen while generating: ${first.lengthsWhileGenerating.join(',')}`).toBeGreaterThanOrEqual(10);
    expect(first.reply.length).toBeGreaterThan(Math.max(...growing) - 20);
    expect(first.outcome).toBe('done');
    // A story model (no chat template): the reply continues the message, shown faded in front.
    expect(await page.locator('#messages .msg.assistant .echo').first().textContent()).toBe('Once upon a time');
    expect(first.meta).toMatch(/\d+ tokens · [\d.]+ tokens\/s/);

    // Short stories can end early: follow-ups extend the same story on the compressed cache.
    let st = await stats(page);
    for (let turn = 0; turn < 2 && !(st.bytesAllocated < st.bytesFull); turn++) {
      const more = await sendAndWatch(page, 'One day, a big storm came');
      expect(more.meta).toContain('continued on the compressed cache');
      st = await stats(page);
    }
    expect(st.policy).toBe('d2o');
    expect(st.layers).toBe(2);
    expect(st.sequenceLength).toBeGreaterThan(2 * 2 * BUDGET);
    expect(st.evictions).toBeGreaterThan(0);
    expect(st.merges).toBeGreaterThan(0);
    expect(st.bytesAllocated, JSON.stringify(st)).toBeLessThan(st.bytesFull);
    // The same numbers are on screen.
    expect(Number((await page.locator('[data-stat=evictions]').textContent())!.replace(/,/g, ''))).toBe(st.evictions);
    expect(Number((await page.locator('[data-stat=merges]').textContent())!.replace(/,/g, ''))).toBe(st.merges);
    expect(await page.locator('[data-stat=memory-note]').textContent()).toMatch(/% of the full cache: .* saved/);
    expect(await page.locator('#layer-chart .layer-col').count()).toBe(2);

    // The KV map: 2 layer rows over the whole sequence, with kept, merged and evicted positions drawn.
    const map = await page.evaluate(() => {
      const c = document.getElementById('kv-map') as HTMLCanvasElement;
      const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      const colours = new Set<string>();
      let painted = 0;
      for (let i = 0; i < px.length; i += 4)
        if (px[i + 3] > 0) {
          painted++;
          colours.add(`${px[i] >> 4},${px[i + 1] >> 4},${px[i + 2] >> 4}`);
        }
      const d = c.dataset;
      return { layers: d.layers, sequenceLength: d.sequenceLength, kept: d.kept, merged: d.merged, evicted: d.evicted, painted, colours: colours.size, emptyHidden: document.getElementById('kv-map-empty')!.hidden };
    });
    expect(map.layers).toBe('2');
    expect(Number(map.sequenceLength)).toBe(st.sequenceLength);
    expect(Number(map.kept)).toBeGreaterThan(0);
    expect(Number(map.merged)).toBeGreaterThan(0);
    expect(Number(map.evicted)).toBeGreaterThan(0);
    expect(map.painted).toBeGreaterThan(1000);
    // At least kept, merged and evicted (blends of them add more).
    expect(map.colours).toBeGreaterThanOrEqual(3);
    expect(map.emptyHidden).toBe(true);

    await s.screenshot('04-d2o-story');
    await s.screenshot('04-d2o-story', { width: 390, height: 844 });
    await page.setViewportSize({ width: 1280, height: 800 });
    expectNoPageErrors();
  });

  it('stop ends a reply mid-stream, and the chat goes on', async () => {
    const { page } = await demo();
    // Runs after the D2O test, on its loaded model (loaded again when run alone).
    if ((await page.evaluate(() => document.body.dataset.state)) !== 'ready') {
      await page.click('#tab-local');
      await page.selectOption('#local-model', 'tinystories-656k');
      await load(page);
    }
    await page.click('#new-chat');
    await page.waitForSelector('#messages .empty');
    await page.fill('#max-tokens', '400');
    await page.fill('#prompt', 'Once upon a time there was a little dragon');
    await page.click('#send');
    await waitState(page, 'generating');
    expect(await page.locator('#stop').isVisible()).toBe(true);
    expect(await page.locator('#send').isVisible()).toBe(false);
    // Some tokens, then stop.
    await page.waitForFunction(() => (document.querySelector('#messages .msg.assistant .text')?.textContent ?? '').length > 40, undefined, { timeout: 60_000 });
    await page.click('#stop');
    await waitState(page, 'ready', 30_000);
    const reply = page.locator('#messages .msg.assistant').last();
    expect(await reply.getAttribute('data-outcome')).toBe('stopped');
    const meta = (await reply.locator('.meta').textContent())!;
    const stoppedAt = Number(/stopped after (\d+) tokens/.exec(meta)?.[1]);
    expect(stoppedAt).toBeGreaterThan(0);
    expect(stoppedAt).toBeLessThan(400);
    const text = await reply.locator('.text').textContent();
    await page.waitForTimeout(500);
    expect(await reply.locator('.text').textContent()).toBe(text);
    await s.screenshot('05-stopped');

    // The engine is fine after the stop: a short follow-up continues the story.
    await page.fill('#max-tokens', '8');
    const next = await sendAndWatch(page, 'Then the dragon');
    expect(next.outcome).toBe('done');
    expect(next.reply.length).toBeGreaterThan(0);
    expectNoPageErrors();
  });

  it('?worker=0 runs the engine in the page', async () => {
    const page = await (await demo()).context.newPage();
    try {
      await page.goto(`${s.baseUrl}/?worker=0`);
      await page.waitForFunction(() => document.body.dataset.ready === 'true', undefined, { timeout: 60_000 });
      await page.selectOption('#local-model', 'tinystories-656k');
      await page.fill('#budget', '8');
      await load(page);
      const status = await page.locator('#load-status').textContent();
      expect(status).toMatch(/on WebGPU\.$/);
      expect(status).not.toContain('worker');
      await page.fill('#max-tokens', '40');
      await page.fill('#prompt', 'Once upon a time');
      await page.click('#send');
      await waitState(page, 'ready');
      await page.waitForFunction(() => Number(document.getElementById('stats')!.dataset.evictions) > 0, undefined, { timeout: 10_000 });
      expect(await page.locator('#messages .msg.assistant').last().getAttribute('data-outcome')).toBe('done');
    } finally {
      await page.close();
    }
    expectNoPageErrors();
  });

  it('explains a missing WebGPU and falls back to the CPU backend', async () => {
    const page = await (await demo()).context.newPage();
    try {
      // As in a browser without WebGPU.
      await page.addInitScript(() => {
        delete (Navigator.prototype as { gpu?: unknown }).gpu;
      });
      await page.setViewportSize({ width: 390, height: 844 });
      await page.goto(`${s.baseUrl}/`);
      await page.waitForFunction(() => document.body.dataset.ready === 'true', undefined, { timeout: 60_000 });
      expect(await page.locator('#device').textContent()).toBe('No WebGPU');
      const banner = page.locator('#banner');
      expect(await banner.isVisible()).toBe(true);
      expect(await banner.textContent()).toContain('WebGPU is not available');
      expect(await page.locator('#backend').inputValue()).toBe('cpu');
      await page.screenshot({ path: join(ROOT, 'test-results/e2e/06-no-webgpu-390x844.png'), fullPage: true });
    } finally {
      await page.close();
    }
    expectNoPageErrors();
  });
});
