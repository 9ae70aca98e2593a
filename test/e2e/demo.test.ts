/**
 * The chat demo end to end in Debian Chromium on SwiftShader: the dev server as `npm run demo`
 * runs it, TinyStories-656K from the local models folder. Screenshots at 1280x800 and 390x844 go
 * to test-results/e2e/ (git-ignored).
 *
 * The tests run in order on one page, as a user would, reusing the loaded model: the start page
 * (keyboard, contrast), file checks and a corrupt model (the page keeps working), D2O at 32 tokens
 * per layer (statistics that add up, memory, chart, map, story follow-ups, the phone layout, Esc),
 * settings and failed loads that keep the chat, the full cache with a long paste, a stop; then a
 * page with the engine in the page and a budget in percent, and a page without WebGPU. Without
 * Chromium or WebGPU they fail, never skip. What a test needs from the ones before it (the D2O
 * model, a chat, the corrupt files) it makes itself when they failed, so one failure stays one.
 *
 * No check waits a fixed time for something to happen: each waits for the page's state
 * (data-state is 'ready' once a turn's final statistics and map are drawn), for the text it
 * expects, or for CSS transitions to end. The one fixed wait watches that nothing more arrives
 * after a stop.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { textContrastFailures, variableContrasts } from './contrast';
import { gotoDemo, openDemo, ROOT, type DemoSession } from './demo-session';
import { writeGguf } from '../../src/model/gguf-writer';

const MODELS = resolve(ROOT, process.env.D2O_MODELS_DIR ?? '../shared/models');
const BUDGET = 32;
/**
 * An opening TinyStories-656K continues for more than 2,000 tokens when greedy under D2O at 32 per
 * layer (about 30 s on SwiftShader here): a reply asked for LONG_TOKENS is still streaming when the
 * checks that need it streaming run, on a much faster machine too.
 */
const LONG_STORY = 'Tom and Lily went to the park. They';
const LONG_TOKENS = 2000;
const PHONE = { width: 390, height: 844 };
const LAPTOP = { width: 1280, height: 800 };

let s: DemoSession;
let opened: Promise<DemoSession> | undefined;
let corruptDir: string | undefined;
const CORRUPT_JSON = ['config.json', 'generation_config.json', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json'];

/** The json files of TinyStories-656K and its weights cut in half, written once (two tests pick them). */
function corruptModel(): string {
  if (corruptDir) return corruptDir;
  corruptDir = mkdtempSync(join(tmpdir(), 'd2o-e2e-corrupt-'));
  const src = join(MODELS, 'tinystories-656k');
  for (const name of CORRUPT_JSON) writeFileSync(join(corruptDir, name), readFileSync(join(src, name)));
  const weights = readFileSync(join(src, 'model.safetensors'));
  writeFileSync(join(corruptDir, 'model.safetensors'), weights.subarray(0, Math.floor(weights.length / 2)));
  return corruptDir;
}

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

/** Clicks Load (and, when a chat would be replaced, confirms) and waits for the outcome. */
async function load(page: Page, expectState = 'ready'): Promise<void> {
  await page.click('#load');
  if (await page.locator('#load-confirm').isVisible()) await page.click('#load-confirm-yes');
  await page.waitForFunction(() => document.body.dataset.state !== 'loading', undefined, { timeout: 120_000 });
  const state = await page.evaluate(() => document.body.dataset.state);
  expect(state, `loading: ${await page.locator('#load-status').textContent()}`).toBe(expectState);
}

/** Uncaught exceptions in the page fail the test (console 404s are the loader probing optional files). */
function expectNoPageErrors(): void {
  expect(s.errors.filter((e) => e.startsWith('pageerror'))).toEqual([]);
}

function waitState(page: Page, state: string, timeout = 120_000): Promise<unknown> {
  return page.waitForFunction((want) => document.body.dataset.state === want, state, { timeout });
}

/**
 * TinyStories-656K under D2O at BUDGET, as the D2O test loads it. The tests after it run on that
 * model; when an earlier test failed before loading it (or left a reply streaming), it is loaded
 * here, so one failure does not fail the tests after it.
 */
async function d2oLoaded(page: Page): Promise<void> {
  if ((await page.evaluate(() => document.body.dataset.state)) === 'generating') {
    await page.keyboard.press('Escape');
    await waitState(page, 'ready');
  }
  const info = (await page.locator('#model-info').textContent()) ?? '';
  if (info.startsWith('tinystories-656k ·') && info.endsWith(`· D2O, ${BUDGET} tokens per layer`)) return;
  await loadD2o(page);
}

/** Loads TinyStories-656K under D2O at BUDGET tokens per layer from the local models tab. */
async function loadD2o(page: Page): Promise<void> {
  await page.click('#tab-local');
  await page.selectOption('#local-model', 'tinystories-656k');
  await page.selectOption('#policy', 'd2o');
  await page.selectOption('#budget-unit', 'tokens');
  await page.fill('#budget', String(BUDGET));
  await load(page);
}

/** The statistics panel's figures (data-* attributes written by demo/stats.ts). */
async function stats(page: Page) {
  const d = await page.evaluate(() => ({ ...document.getElementById('stats')!.dataset }));
  return {
    policy: d.policy,
    context: Number(d.context),
    layers: Number(d.layers),
    held: Number(d.held),
    evicted: Number(d.evicted),
    merged: Number(d.merged),
    heldPerLayer: JSON.parse(d.heldPerLayer ?? '[]') as number[],
    evictedPerLayer: JSON.parse(d.evictedPerLayer ?? '[]') as number[],
    mergedPerLayer: JSON.parse(d.mergedPerLayer ?? '[]') as number[],
    bytesHeld: Number(d.bytesHeld),
    bytesFull: Number(d.bytesFull),
    bytesAllocated: Number(d.bytesAllocated),
    bytesFullAllocated: Number(d.bytesFullAllocated),
  };
}

/** A per-layer count as the page prints it (head averages to one decimal). */
const fmt = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(1));

/** The number a stat card shows. */
async function shown(page: Page, stat: string): Promise<number> {
  return Number((await page.locator(`[data-stat=${stat}]`).textContent())!.replace(/,/g, ''));
}

/** Sends a message and records the reply's length at every DOM change while it streams. */
async function sendAndWatch(page: Page, text: string) {
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
  return lastReply(page);
}

async function lastReply(page: Page) {
  // 'ready' comes after the final statistics and map are drawn; the meter and the chart's bars
  // then ease to their new widths (CSS transitions), which the checks measure.
  await page.waitForFunction(() => !document.getAnimations().some((a) => a instanceof CSSTransition));
  return page.evaluate(() => {
    const replies = document.querySelectorAll<HTMLElement>('#messages .msg.assistant');
    const last = replies[replies.length - 1];
    return {
      lengthsWhileGenerating: (window as unknown as { __lengths?: number[] }).__lengths ?? [],
      reply: last.querySelector('.text')?.textContent ?? '',
      meta: last.querySelector('.meta')?.textContent ?? '',
      note: last.querySelector('.note')?.textContent ?? '',
      action: last.querySelector('button.action')?.textContent ?? '',
      outcome: last.dataset.outcome ?? '',
    };
  });
}

/** Screenshots at both sizes; the page is left at the laptop size. */
async function shoot(name: string): Promise<void> {
  await s.screenshot(name, LAPTOP);
  await s.screenshot(name, PHONE);
  await s.page.setViewportSize(LAPTOP);
}

/** The statistics panel unfolded (tall viewport: the panel scrolls inside a laptop screen). */
async function shootStatistics(name: string): Promise<void> {
  await s.screenshot(name, { width: 1280, height: 1500 });
  await s.page.setViewportSize(LAPTOP);
}

/** The numbers must add up: per layer held + evicted = context, the map counts what the chart and the cards count. */
async function expectConsistent(page: Page) {
  const st = await stats(page);
  expect(st.heldPerLayer).toHaveLength(st.layers);
  st.heldPerLayer.forEach((h, l) => {
    expect(h + st.evictedPerLayer[l], `layer ${l}: held + evicted = context`).toBeCloseTo(st.context, 9);
    expect(st.mergedPerLayer[l]).toBeLessThanOrEqual(st.evictedPerLayer[l]);
    expect(h).toBeLessThanOrEqual(st.context);
  });
  // The cards show the same figures.
  expect(await shown(page, 'context')).toBe(st.context);
  // Head averages are printed to one decimal.
  for (const k of ['held', 'evicted', 'merged'] as const) expect(Math.abs((await shown(page, k)) - st[k]), k).toBeLessThanOrEqual(0.05 + 1e-9);
  // Map equals chart equals statistics.
  const views = await page.evaluate(() => ({
    map: JSON.parse(document.getElementById('kv-map')!.dataset.heldPerLayer ?? '[]') as number[],
    mapLength: Number(document.getElementById('kv-map')!.dataset.sequenceLength),
    chart: JSON.parse(document.getElementById('layer-chart')!.dataset.heldPerLayer ?? '[]') as number[],
    rows: document.querySelectorAll('#layer-chart .layer-row').length,
  }));
  expect(views.mapLength).toBe(st.context);
  expect(views.map).toEqual(st.heldPerLayer);
  expect(views.chart).toEqual(st.heldPerLayer);
  expect(views.rows).toBe(st.layers);
  // The meter: the held share of the full cache, never past 100, and what a screen reader hears.
  const meter = await page.evaluate(() => {
    const m = document.querySelector('[role=meter]')!;
    const fill = m.querySelector<HTMLElement>('.meter-fill')!;
    return { now: Number(m.getAttribute('aria-valuenow')), max: Number(m.getAttribute('aria-valuemax')), text: m.getAttribute('aria-valuetext') ?? '', fill: fill.getBoundingClientRect().width, track: m.getBoundingClientRect().width };
  });
  expect(meter.max).toBe(100);
  expect(meter.now).toBe(Math.round((100 * st.bytesHeld) / st.bytesFull));
  expect(meter.now).toBeLessThanOrEqual(100);
  expect(meter.text).toMatch(new RegExp(`^${meter.now}% of the full cache: `));
  expect(st.bytesHeld).toBeLessThanOrEqual(st.bytesFull);
  return { st, meter };
}

describe('chat demo in Chromium (SwiftShader)', () => {
  it('opens with WebGPU detected, the local models listed, tabs that follow the arrow keys, and AA contrast in both themes', async () => {
    const { page } = await demo();
    const badge = await page.locator('#device').textContent();
    expect(badge, 'the demo found no WebGPU adapter in Chromium: the e2e tests need Chromium with SwiftShader (--enable-unsafe-webgpu)').toMatch(/^WebGPU/);
    const options = await page.locator('#local-model option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(options).toContain('tinystories-656k');
    expect(await page.locator('#messages .empty h3').textContent()).toContain('Load a model');
    expect(await page.locator('#send').isDisabled()).toBe(true);

    // Tabs: one Tab stop; arrows, Home and End move and select.
    await page.focus('#tab-local');
    const selected = () => page.evaluate(() => ({ focus: document.activeElement?.id, selected: document.querySelector('[role=tab][aria-selected=true]')?.id, tabbable: [...document.querySelectorAll<HTMLElement>('[role=tab]')].filter((t) => t.tabIndex === 0).map((t) => t.id) }));
    await page.keyboard.press('ArrowRight');
    expect(await selected()).toEqual({ focus: 'tab-hf', selected: 'tab-hf', tabbable: ['tab-hf'] });
    expect(await page.locator('#panel-hf').isVisible()).toBe(true);
    await page.keyboard.press('End');
    expect((await selected()).selected).toBe('tab-files');
    await page.keyboard.press('ArrowRight');
    expect((await selected()).selected).toBe('tab-local');
    await page.keyboard.press('ArrowLeft');
    expect((await selected()).selected).toBe('tab-files');
    await page.keyboard.press('Home');
    expect(await selected()).toEqual({ focus: 'tab-local', selected: 'tab-local', tabbable: ['tab-local'] });

    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      expect(await textContrastFailures(page), scheme).toEqual([]);
    }
    await page.emulateMedia({ colorScheme: 'light' });
    await shoot('01-start');
    expectNoPageErrors();
  });

  it('checks picked files before loading: no model, weights without their config or tokenizer, several weight files', async () => {
    const { page } = await demo();
    await page.click('#tab-files');
    const f = (name: string, text = 'x') => ({ name, mimeType: 'application/octet-stream', buffer: Buffer.from(text) });
    const pick = async (files: ReturnType<typeof f>[]) => {
      await page.setInputFiles('#files', files);
      // A .gguf's header is read for its tokenizer first.
      await page.waitForFunction(() => !document.querySelector('#files-check')?.textContent?.startsWith('Reading '));
      return (await page.locator('#files-check').textContent()) ?? '';
    };
    expect(await pick([f('README.md', '# notes')])).toMatch(/^None of these files is a model \(README\.md\)\. Choose a \.gguf, a Hugging Face folder/);
    // Load says the same, and nothing is loaded.
    await page.click('#load');
    expect(await page.locator('#load-status').textContent()).toContain('None of these files is a model');
    expect(await page.evaluate(() => document.body.dataset.state)).toBe('idle');
    expect(await pick([f('model.safetensors')])).toBe('model.safetensors needs config.json and tokenizer.json from the same Hugging Face folder: add them.');
    expect(await pick([f('model.safetensors'), f('config.json', '{}')])).toContain('needs tokenizer.json');
    // The shared .gguf carries its tokenizer and loads alone; one whose metadata has none asks for tokenizer.json.
    const gguf = readFileSync(join(MODELS, 'tinystories-656k', 'tinystories-656k-q8_0.gguf'));
    expect(await pick([{ ...f('tinystories-656k-q8_0.gguf'), buffer: gguf }])).toBe('Ready to load tinystories-656k-q8_0.gguf.');
    const bare = Buffer.from(writeGguf([['general.architecture', 'llama']], []));
    expect(await pick([{ ...f('bare.gguf'), buffer: bare }])).toMatch(/^bare\.gguf carries no tokenizer in its metadata: add its tokenizer\.json/);
    expect(await pick([f('stories260K.bin')])).toMatch(/add its tokenizer \.bin/);
    const two = await pick([f('b-model.gguf'), f('a-model.gguf'), f('tokenizer.json', '{}')]);
    expect(two).toBe('Ready to load a-model.gguf. 2 model files chosen: loading a-model.gguf. Not used: b-model.gguf.');
    expect(await page.locator('#files-check').getAttribute('class')).toContain('good');
    await shoot('02-file-check');
    expectNoPageErrors();
  });

  it('a corrupt model file shows an error without breaking the page', async () => {
    const { page } = await demo();
    // A truncated copy of TinyStories-656K's weights beside its real json files, picked as files.
    const dir = corruptModel();
    await page.click('#tab-files');
    await page.setInputFiles('#files', [...CORRUPT_JSON, 'model.safetensors'].map((name) => join(dir, name)));
    expect(await page.locator('#files-summary').textContent()).toContain('6 files');
    await load(page, 'idle');
    const notice = page.locator('#load-status .notice');
    expect(await notice.locator('strong').textContent()).toBe('The model files are damaged or incomplete');
    expect(await notice.textContent()).toContain('model.safetensors');
    expect(await page.locator('#model-info').textContent()).toBe('No model loaded');
    // Still usable: the controls are enabled again for another model.
    expect(await page.locator('#load').isDisabled()).toBe(false);
    expect(await page.locator('#tab-local').isDisabled()).toBe(false);
    await shoot('03-corrupt-model');
    expectNoPageErrors();
  });

  it(`D2O at ${BUDGET} tokens per layer: a story streams, the numbers add up, memory below the full cache, chart and map agree, follow-ups answer`, async () => {
    const { page } = await demo();
    await loadD2o(page);
    // The engine runs in a Web Worker; the GPU warm-up is reported apart from the load.
    expect(await page.locator('#load-status').textContent()).toMatch(/^Loaded tinystories-656k in [\d.]+ s on WebGPU \(in a worker\); GPU warm-up [\d.]+ s, not counted in the reply speeds\./);
    expect(await page.locator('#model-info').textContent()).toContain('2 layers');

    // Greedy, so the story and its ending are the same every run.
    await page.fill('#max-tokens', '300');
    await page.fill('#temperature', '0');
    const first = await sendAndWatch(page, 'Once upon a time');
    const growing = new Set(first.lengthsWhileGenerating.filter((n) => n > 0));
    expect(growing.size, `reply lengths seen while generating: ${first.lengthsWhileGenerating.join(',')}`).toBeGreaterThanOrEqual(10);
    expect(first.reply.length).toBeGreaterThan(Math.max(...growing) - 20);
    expect(first.outcome).toBe('done');
    expect(await page.locator('#messages .msg.assistant .echo').first().textContent()).toBe('Once upon a time');
    expect(first.meta).toMatch(/^\d+ tokens · [\d.]+ tokens\/s · the model ended the story$/);
    let { st, meter } = await expectConsistent(page);
    expect(st.context).toBeGreaterThan(2 * BUDGET);

    // The story model closes this line at once: the page says so and offers a line to go on with.
    await page.fill('#max-tokens', '60');
    const ended = await sendAndWatch(page, 'Then the sun came out.');
    expect(ended.outcome).toBe('ended');
    expect(ended.note).toContain('The model ended the story here: after “Then the sun came out.” it wrote its end-of-story marker');
    expect(ended.action).toBe('Continue with “One day,”');
    await shoot('04-story-ended');
    // The click sends at once (the page is 'generating' when it returns): wait for the turn's end.
    await page.click('#messages .msg.assistant:last-child button.action');
    await waitState(page, 'ready');
    const carried = await lastReply(page);
    expect(carried.outcome).toBe('done');
    expect(carried.reply.trim().length).toBeGreaterThan(20);
    expect(carried.meta).toMatch(new RegExp(`the model had ended the story, so it was read again \\(\\d+ tokens\\) into a fresh compressed cache \\(D2O, ${BUDGET} tokens per layer\\)$`));
    // It stopped at max tokens, so the next line extends the story in the compressed cache.
    expect(carried.meta).toContain('reached max tokens');
    const more = await sendAndWatch(page, 'Then they');
    expect(more.meta).toContain(`continued on the compressed cache (D2O, ${BUDGET} tokens per layer)`);

    ({ st, meter } = await expectConsistent(page));
    expect(st.policy).toBe('d2o');
    expect(st.layers).toBe(2);
    expect(st.context).toBeGreaterThan(2 * 2 * BUDGET);
    expect(st.evicted).toBeGreaterThan(0);
    expect(st.merged).toBeGreaterThan(0);
    // Past the budget, the cache holds well under the full cache, and the bar says so.
    expect(meter.now).toBeLessThan(100);
    expect(meter.fill).toBeLessThan(meter.track * 0.9);
    expect(await page.locator('[data-stat=memory]').textContent()).toBe(`saves ${100 - meter.now}%`);
    expect(await page.locator('[data-stat=memory-saving]').textContent()).toMatch(/^Saved [\d.]+ KB \(\d+%\): D2O holds [\d.]+ of [\d,]+ positions per layer, and merged [\d.]+ of the [\d.]+ it evicted into the ones it holds\.$/);
    expect(await page.locator('[data-stat=memory-allocated]').textContent()).toMatch(/^Allocated now: [\d.]+ KB, against [\d.]+ KB a full cache allocates for this conversation/);
    expect(st.bytesFullAllocated).toBeGreaterThan(0);
    expect(st.bytesAllocated, JSON.stringify(st)).toBeLessThan(st.bytesFull);
    expect(await page.locator('[data-stat=tau]').textContent()).toMatch(/^Merge threshold τ [\d.]+: /);

    // The chart: layer labels, an axis in tokens, one scale for every row (the context or the largest budget).
    const chart = await page.evaluate(() => {
      const c = document.getElementById('layer-chart')!;
      return {
        scale: Number(c.dataset.scale),
        names: [...c.querySelectorAll('.layer-name')].map((e) => e.textContent),
        axis: document.getElementById('chart-axis')!.textContent,
        rows: [...c.querySelectorAll('.layer-row')].map((r) => ({
          budget: r.querySelector('.layer-budget')!.getBoundingClientRect().width / r.querySelector('.layer-track')!.getBoundingClientRect().width,
          num: r.querySelector('.layer-num')!.textContent,
        })),
      };
    });
    expect(chart.names).toEqual(['L0', 'L1']);
    expect(chart.scale).toBeGreaterThanOrEqual(st.context);
    expect(chart.axis).toBe(`0${Math.round(chart.scale / 2)}${chart.scale} tokens`);
    const budgets = await page.evaluate(() => [...document.querySelectorAll('#layer-table tbody tr')].map((r) => Number(r.children[1].textContent)));
    chart.rows.forEach((r, l) => {
      expect(r.budget).toBeCloseTo(budgets[l] / chart.scale, 2);
      expect(r.num).toBe(`${fmt(st.heldPerLayer[l])} / ${budgets[l]}`);
    });
    // The per-layer table opens from the keyboard.
    await page.focus('.layer-table summary');
    await page.keyboard.press('Enter');
    expect(await page.locator('#layer-table table').isVisible()).toBe(true);
    const row0 = await page.locator('#layer-table tbody tr').first().textContent();
    expect(row0).toContain(`L0${budgets[0]}${fmt(st.heldPerLayer[0])}`);

    // The map: 2 rows over the whole conversation, held, merged and evicted drawn.
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
      return { painted, colours: colours.size, label: c.getAttribute('aria-label')!, emptyHidden: document.getElementById('kv-map-empty')!.hidden };
    });
    expect(map.painted).toBeGreaterThan(1000);
    expect(map.colours).toBeGreaterThanOrEqual(3);
    expect(map.emptyHidden).toBe(true);
    expect(map.label).toContain(`layer 0 holds ${fmt(st.heldPerLayer[0])} and evicted ${fmt(st.evictedPerLayer[0])}`);
    // Graphics colours: 3:1 against the ground and between neighbours.
    for (const c of await variableContrasts(page, [
      ['--kv-evicted', '--viz-bg'],
      ['--kv-kept', '--kv-evicted'],
      ['--kv-merged', '--kv-evicted'],
      ['--kv-kept', '--viz-bg'],
      ['--kv-merged', '--viz-bg'],
      ['--budget', '--viz-bg'],
    ]))
      expect(c.ratio, c.pair).toBeGreaterThanOrEqual(3);
    for (const scheme of ['dark', 'light'] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      expect(await textContrastFailures(page), scheme).toEqual([]);
      if (scheme === 'dark') await shootStatistics('05-d2o-dark');
    }

    await shoot('05-d2o-story');
    await shootStatistics('05-d2o-statistics');
    expectNoPageErrors();
  });

  it('on a phone the statistics are one tap away while a reply streams; Esc stops it and the focus stays where it was', async () => {
    const { page } = await demo();
    await d2oLoaded(page);
    await page.setViewportSize(PHONE);
    onTestFinished(() => page.setViewportSize(LAPTOP));
    await page.click('#new-chat');
    await page.fill('#max-tokens', String(LONG_TOKENS));
    await page.fill('#temperature', '0');
    // Greedy, this opening runs past LONG_TOKENS: the reply is still streaming when the checks run.
    await page.fill('#prompt', LONG_STORY);
    await page.press('#prompt', 'Enter');
    await waitState(page, 'generating');
    await page.waitForFunction(() => Number(document.getElementById('stats')!.dataset.context) > 0 && (document.querySelector('#messages .msg.assistant:last-child .text')?.textContent ?? '').length > 40, undefined, { timeout: 60_000 });
    const jump = page.locator('#jump-stats');
    expect(await jump.isVisible()).toBe(true);
    expect(await jump.textContent()).toMatch(/^[\d,]+ tokens · holds [\d.]+ per layer · saves \d+%Statistics ↓$/);
    await jump.click();
    const at = await page.evaluate(() => ({ top: document.getElementById('insights')!.getBoundingClientRect().top, state: document.body.dataset.state, focus: document.activeElement?.id }));
    expect(at.state).toBe('generating');
    expect(at.top).toBeGreaterThanOrEqual(-2);
    expect(at.top).toBeLessThan(PHONE.height / 2);
    expect(at.focus).toBe('insights');
    await s.page.screenshot({ path: join(ROOT, 'test-results/e2e/06-phone-statistics-while-streaming-390x844.png') });
    // Esc stops from wherever the focus is, and leaves it there.
    await page.keyboard.press('Escape');
    await waitState(page, 'ready', 30_000);
    const reply = await lastReply(page);
    expect(reply.outcome).toBe('stopped');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('insights');
    // The phone layout: nothing wider than the screen, sampling fields big enough to tap.
    const layout = await page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth,
      inputs: [...document.querySelectorAll<HTMLElement>('.params input')].map((i) => i.getBoundingClientRect().height),
      badge: (() => {
        const b = document.getElementById('device')!;
        return b.scrollWidth <= b.clientWidth + 1 && b.getBoundingClientRect().right <= window.innerWidth;
      })(),
    }));
    expect(layout.scroll).toBeLessThanOrEqual(PHONE.width);
    for (const h of layout.inputs) expect(h).toBeGreaterThanOrEqual(44);
    expect(layout.badge).toBe(true);
    await expectConsistent(page);
    expectNoPageErrors();
  });

  it('stop ends a reply mid-stream, the focus stays in the chat, and the chat goes on', async () => {
    const { page } = await demo();
    await d2oLoaded(page);
    await page.click('#new-chat');
    await page.fill('#max-tokens', String(LONG_TOKENS));
    // Greedy: a sampled story could end before the stop.
    await page.fill('#temperature', '0');
    await page.fill('#prompt', LONG_STORY);
    await page.click('#send');
    await waitState(page, 'generating');
    expect(await page.locator('#stop').isVisible()).toBe(true);
    expect(await page.locator('#send').isVisible()).toBe(false);
    await page.waitForFunction(() => (document.querySelector('#messages .msg.assistant:last-child .text')?.textContent ?? '').length > 40, undefined, { timeout: 60_000 });
    await page.click('#stop');
    await waitState(page, 'ready', 30_000);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('prompt');
    const reply = page.locator('#messages .msg.assistant').last();
    expect(await reply.getAttribute('data-outcome')).toBe('stopped');
    const stoppedAt = Number(/stopped after (\d+) tokens/.exec((await reply.locator('.meta').textContent())!)?.[1]);
    expect(stoppedAt).toBeGreaterThan(0);
    expect(stoppedAt).toBeLessThan(LONG_TOKENS);
    const text = await reply.locator('.text').textContent();
    await page.waitForTimeout(500);
    expect(await reply.locator('.text').textContent()).toBe(text);

    await page.fill('#max-tokens', '8');
    const next = await sendAndWatch(page, 'Then the dragon');
    expect(next.outcome).toBe('done');
    expect(next.reply.length).toBeGreaterThan(0);
    await expectConsistent(page);
    expectNoPageErrors();
  });

  it(`long documents, attached and dropped, under D2O at ${BUDGET} per layer: read in chunks, KV memory flat while the context passes 8x the budget`, async () => {
    const { page } = await demo();
    await d2oLoaded(page);
    await page.click('#new-chat');
    await page.fill('#max-tokens', '4');
    await page.fill('#temperature', '0');
    const words = ['the', 'little', 'cat', 'sat', 'on', 'a', 'warm', 'mat', 'and', 'looked', 'at', 'the', 'sun'];
    const doc = (n: number, seed: number) => `${Array.from({ length: n }, (_, i) => words[(i * 7 + seed) % words.length]).join(' ')}.`;
    // Attached with the button: a 6,000-token document.
    const first = doc(6000, 1);
    await page.setInputFiles('#attach', { name: 'first.txt', mimeType: 'text/plain', buffer: Buffer.from(first) });
    // The file is read asynchronously (File.text()) after the change event.
    await page.waitForFunction((text) => (document.getElementById('prompt') as HTMLTextAreaElement).value === text, first);
    expect(await page.locator('#attached').textContent()).toMatch(/^first\.txt: [\d,]+ characters in the message box/);
    await page.click('#send');
    await waitState(page, 'ready', 300_000);
    const a = await stats(page);
    expect(a.policy).toBe('d2o');
    expect(a.context).toBeGreaterThan(6000);
    // Dropped on the message box.
    const second = doc(1200, 5);
    await page.evaluate((text) => {
      const dt = new DataTransfer();
      dt.items.add(new File([text], 'second.txt', { type: 'text/plain' }));
      document.getElementById('composer')!.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, second);
    await page.waitForFunction((text) => (document.getElementById('prompt') as HTMLTextAreaElement).value === text, second);
    await page.click('#send');
    await waitState(page, 'ready', 300_000);
    const b = await stats(page);
    expect(b.context).toBeGreaterThan(a.context + 1000);
    expect(b.context).toBeGreaterThan(8 * BUDGET);
    // The memory figure stays at the budget's (plus the 512-token chunk being read) however long the
    // context grows, far below what a full cache of this context takes (this model's own context
    // stops at 512 tokens: its full cache could not hold the text at all).
    expect(b.bytesAllocated).toBe(a.bytesAllocated);
    expect(b.bytesAllocated, JSON.stringify(b)).toBeLessThan(b.bytesFull / 2);
    expect(b.held).toBeLessThanOrEqual(2 * BUDGET);
    b.heldPerLayer.forEach((h, l) => expect(h + b.evictedPerLayer[l]).toBeCloseTo(b.context, 9));
    expectNoPageErrors();
  }, 900_000);

  it('settings that need a load say what the chat runs; a failed load keeps the model and the chat; a load asks before it replaces the chat', async () => {
    const { page } = await demo();
    await d2oLoaded(page);
    // A chat of its own: two turns.
    await page.click('#new-chat');
    await page.fill('#max-tokens', '4');
    await page.fill('#temperature', '0');
    for (const text of ['Once upon a time', 'Then the dog']) await sendAndWatch(page, text);
    const messages = await page.locator('#messages .msg').count();
    expect(messages).toBe(4);
    await page.selectOption('#policy', 'full');
    const note = page.locator('#settings-note');
    expect(await note.textContent()).toBe(
      `This chat runs tinystories-656k with D2O, ${BUDGET} tokens per layer. The settings above apply when you load: that starts a new chat, and this one stays until the new model is ready.`,
    );
    expect(await page.locator('#load').textContent()).toBe('Load with these settings');
    // Load asks first; Esc keeps the chat.
    await page.click('#load');
    expect(await page.locator('#load-confirm').isVisible()).toBe(true);
    expect(await page.locator('#load-confirm-text').textContent()).toMatch(/^Loading tinystories-656k with the full cache starts a new chat\. This chat \(\d+ messages, tinystories-656k with D2O, 32 tokens per layer\) stays until the new model is ready, and stays if loading fails\.$/);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('load-confirm-yes');
    await s.screenshot('07-load-confirm', LAPTOP);
    // On a phone the setup is folded to a line once a model is loaded: Change opens it, with the question.
    await page.setViewportSize(PHONE);
    await page.click('#unfold-setup');
    expect(await page.locator('#load-confirm').isVisible()).toBe(true);
    await s.screenshot('07-load-confirm', PHONE);
    await page.setViewportSize(LAPTOP);
    await page.keyboard.press('Escape');
    expect(await page.locator('#load-confirm').isVisible()).toBe(false);

    // A load that fails (the corrupt files) leaves the model and the chat as they were.
    await page.click('#tab-files');
    await page.setInputFiles('#files', ['config.json', 'tokenizer.json', 'model.safetensors'].map((name) => join(corruptModel(), name)));
    await load(page);
    const status = await page.locator('#load-status').textContent();
    expect(status).toContain('The model files are damaged or incomplete');
    expect(status).toContain(`tinystories-656k (D2O, ${BUDGET} tokens per layer) is still loaded: your chat goes on.`);
    expect(await page.locator('#messages .msg').count()).toBe(messages);
    expect(await page.locator('#model-info').textContent()).toContain(`D2O, ${BUDGET} tokens per layer`);
    await shoot('07-failed-load-keeps-chat');
    await page.fill('#max-tokens', '5');
    const after = await sendAndWatch(page, 'The end');
    expect(after.outcome).toBe('done');
    expect(after.meta).toContain(`(D2O, ${BUDGET} tokens per layer)`);
    expectNoPageErrors();
  });

  it('the full cache: the footer and the memory say it keeps everything; an over-long paste fails humanely and stays in the box', async () => {
    const { page } = await demo();
    await page.click('#tab-local');
    await page.selectOption('#local-model', 'tinystories-656k');
    await page.selectOption('#policy', 'full');
    await load(page);
    expect(await page.locator('#messages .msg').count()).toBe(0);
    expect(await page.locator('#model-info').textContent()).toContain('the full cache');
    await page.fill('#max-tokens', '20');
    await sendAndWatch(page, 'Once upon a time');
    await page.fill('#max-tokens', '5');
    const more = await sendAndWatch(page, 'Then');
    if (more.outcome !== 'ended') expect(more.meta).toMatch(/continued on the cache \(full: every token kept\)|read again/);
    expect(more.meta).not.toContain('compressed');
    const { st, meter } = await expectConsistent(page);
    expect(st.evicted).toBe(0);
    expect(meter.now).toBe(100);
    expect(await page.locator('[data-stat=memory-saving]').textContent()).toBe('The full cache keeps every token: nothing is saved, memory grows with the conversation.');
    // Under the full cache the allocation compared with is its own.
    expect(st.bytesAllocated).toBe(st.bytesFullAllocated);

    // 3,000 words: more than the model's whole context.
    const long = Array.from({ length: 3000 }, (_, i) => ['the', 'little', 'cat', 'sat', 'on', 'a', 'warm', 'mat'][i % 8]).join(' ');
    await page.click('#new-chat');
    await page.fill('#prompt', long);
    await page.click('#send');
    await waitState(page, 'ready');
    const failed = page.locator('#messages .msg.assistant').last();
    expect(await failed.getAttribute('data-outcome')).toBe('error');
    expect(await failed.locator('.notice strong').textContent()).toBe('This does not fit the full cache');
    const hint = (await failed.locator('.notice > p').textContent())!;
    expect(hint).toMatch(/^It needs [\d,]+ tokens and the full cache holds [\d,]+\. Your text is still in the message box: shorten it, or choose a compressing policy such as D2O under “KV cache” and load again/);
    expect(hint).not.toContain('maxPromptTokens');
    // The text is back in the box; the bubble shows an excerpt.
    expect(await page.inputValue('#prompt')).toBe(long);
    expect((await failed.textContent())!.length).toBeLessThan(1000);
    expect(await failed.locator('.echo').count()).toBe(0);
    const bubble = page.locator('#messages .msg.user').last();
    expect((await bubble.textContent())!.length).toBeLessThan(400);
    expect(await bubble.locator('button.more').textContent()).toBe('Show all 3,000 words');
    await shoot('08-long-paste-full-cache');
    await bubble.locator('button.more').click();
    expect((await bubble.locator('.excerpt').textContent())!.length).toBe(long.length);
    expectNoPageErrors();
  });

  it('?worker=0 runs the engine in the page; a budget in percent says what it became; a budget past the context is explained', async () => {
    const page = await (await demo()).context.newPage();
    try {
      await page.goto(`${s.baseUrl}/?worker=0`);
      await page.waitForFunction(() => document.body.dataset.ready === 'true', undefined, { timeout: 60_000 });
      await page.selectOption('#local-model', 'tinystories-656k');
      await page.selectOption('#budget-unit', '%');
      expect(await page.inputValue('#budget')).toBe('20');
      expect(await page.locator('#budget-hint').textContent()).toContain('20% of a 5-token opening is 5 tokens per layer');
      await load(page);
      const status = await page.locator('#load-status').textContent();
      expect(status).toMatch(/on WebGPU; GPU warm-up/);
      expect(status).not.toContain('worker');
      await page.fill('#max-tokens', '40');
      await page.fill('#prompt', 'Once upon a time');
      await page.click('#send');
      await waitState(page, 'ready');
      await page.waitForFunction(() => Number(document.getElementById('stats')!.dataset.evicted) > 0, undefined, { timeout: 10_000 });
      expect(await page.locator('#messages .msg.assistant').last().getAttribute('data-outcome')).toMatch(/done|ended/);
      expect(await page.locator('[data-stat=budget]').textContent()).toMatch(/^20% of the \d+-token first prompt = \d+ tokens per layer — a short opening makes a tiny cache; choose tokens per layer for short chats$/);

      // A budget past the model's context is refused, in words that name it; the model in use stays.
      await page.selectOption('#budget-unit', 'tokens');
      await page.fill('#budget', '100000');
      await load(page);
      const refused = (await page.locator('#load-status').textContent())!;
      expect(refused).toContain('The budget is larger than this model’s whole context');
      expect(refused).toContain('This model reads at most 512 tokens, so a larger budget could never evict anything.');
      expect(refused).toContain('tinystories-656k (D2O, 20% of the first prompt) is still loaded: your chat goes on.');
      // The whole context as budget loads, and is said to change nothing.
      await page.fill('#budget', '512');
      await load(page);
      expect(await page.locator('#load-status').textContent()).toContain('The budget (512) is not below the model’s whole context (512 tokens): nothing will ever be evicted.');
      await page.fill('#max-tokens', '10');
      await page.fill('#prompt', 'Once upon a time');
      await page.click('#send');
      await waitState(page, 'ready');
      await page.waitForFunction(() => Number(document.getElementById('stats')!.dataset.context) > 0, undefined, { timeout: 10_000 });
      expect(await page.locator('[data-stat=memory-saving]').textContent()).toMatch(/^The budget \(\d+ per layer\) is larger than the conversation \(\d+ tokens\): nothing is evicted yet, so nothing is saved\./);
      expect(await page.locator('[role=meter]').getAttribute('aria-valuenow')).toBe('100');
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
      await page.setViewportSize(PHONE);
      await page.goto(`${s.baseUrl}/`);
      await page.waitForFunction(() => document.body.dataset.ready === 'true', undefined, { timeout: 60_000 });
      expect(await page.locator('#device').textContent()).toBe('No WebGPU');
      const banner = page.locator('#banner');
      expect(await banner.isVisible()).toBe(true);
      expect(await banner.textContent()).toContain('WebGPU is not available');
      expect(await page.locator('#backend').inputValue()).toBe('cpu');
      expect(await textContrastFailures(page)).toEqual([]);
      await page.screenshot({ path: join(ROOT, 'test-results/e2e/09-no-webgpu-390x844.png'), fullPage: true });
    } finally {
      await page.close();
    }
    expectNoPageErrors();
  });
});
