import { describe, expect, it } from 'vitest';
import { useBrowserPage } from '../helpers/browser';
import { golden } from '../helpers/models';
import type { workerEngineCase, workerLoneGgufCase } from '../cases/worker-engine';

const browser = useBrowserPage();

describe('createWorkerEngine in Chromium', () => {
  it('streams, aborts, chats and reports typed errors across the worker boundary', async () => {
    const g = golden['tinystories-656k'];
    const r = await browser.run<Awaited<ReturnType<typeof workerEngineCase>>>('/test/cases/worker-engine.ts', 'workerEngineCase', {
      model: `${browser.session.baseUrl}/models/tinystories-656k`,
      badModel: `${browser.session.baseUrl}/models/no-such-model`,
      prompt: g.greedy_ids.slice(0, 20),
    });
    expect(r.progressReported).toBe(true);
    expect(r.layers).toBe(2);
    expect(r.ids).toHaveLength(40);
    expect(r.joined).toBe(true);
    expect(r.evictions.every((e) => e > 0)).toBe(true);
    expect(r.aborted).toBe('AbortError');
    // The stream ends at the abort: nothing the worker sent before it saw the abort message comes after it.
    expect(r.abortedAfter).toBe(3);
    expect(r.chatObject).toBe('chat.completion');
    expect(r.chatContent).toBeGreaterThan(0);
    expect(r.overflow).toBe('ContextOverflowError 512');
    expect(r.longPrompt.ids).toBe(1);
    expect(r.longPrompt.context).toBe(3000);
    expect(r.longPrompt.held).toBeLessThan(3000);
    expect(r.statsLayers).toBe(2);
    expect(r.mapLayers).toBe(2);
    expect(r.mapKept).toBeGreaterThan(0);
    expect(r.badLoad).toBe('ModelFormatError missing-file');
    expect(r.misuse).toMatch(/^RangeError: topP must be/);
    expect(r.chatMisuse).toMatch(/^RangeError: n must be 1/);
    expect(r.uncloneable[0]).toMatch(/^RangeError: request\.messages\[0\]\.content cannot be sent to the engine worker/);
    expect(r.uncloneable[1]).toMatch(/^RangeError: options\.onToken cannot be sent to the engine worker/);
    expect(r.partsChat).toBe(true);
    expect(r.disposed).toEqual(['EngineDisposedError', 'EngineDisposedError']);
  });
  it('a .gguf picked alone tokenizes with its own metadata: the golden story from the empty text', async () => {
    const g = golden['tinystories-656k'];
    const r = await browser.run<Awaited<ReturnType<typeof workerLoneGgufCase>>>('/test/cases/worker-engine.ts', 'workerLoneGgufCase', {
      url: `${browser.session.baseUrl}/models/tinystories-656k/tinystories-656k-q8_0.gguf`,
      steps: 48,
    });
    // The Q8_0 file keeps the f32 model's greedy ids for 50 steps (cpu-golden.test.ts).
    expect(r.ids).toEqual(g.greedy_ids.slice(1, 49));
    expect(g.text.startsWith(r.text)).toBe(true);
    expect(r.text.length).toBeGreaterThan(100);
    expect(r.chatTokens).toBeGreaterThan(4);
  });
  it('a worker script that does not load is a LoadError that says so', async () => {
    const r = await browser.run<{ name: string; isLoadError: boolean; message: string } | null>('/test/cases/worker-engine.ts', 'workerStartCase');
    expect(r).toMatchObject({ name: 'LoadError', isLoadError: true });
    expect(r!.message).toMatch(/could not start: its script did not load/);
  });
});
