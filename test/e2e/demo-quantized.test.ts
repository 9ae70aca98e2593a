/**
 * A Q4_K_M file made from TinyStories-656K (npm run quantize's path: src/model/gguf-quantize.ts,
 * written into a scratch local-models folder the demo server lists beside the shared models) runs
 * in the demo: listed, loaded on WebGPU in the worker, its sampling defaults shown (it ships
 * Llama-3.2-1B-Instruct's generation_config.json here), and a greedy story streamed that matches the
 * CPU reference on the same file.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gotoDemo, openDemo, type DemoSession } from './demo-session';
import { loadModel } from '../../src/model/load';
import { quantizedGguf } from '../../src/model/gguf-quantize';
import { createEngine } from '../../src/engine/engine';
import { tinystories656k } from '../helpers/models';
import { HF_REAL, hfRealJson } from '../fixtures/hf-real';

const scratch = mkdtempSync(join(tmpdir(), 'd2o-local-models-'));
const NAME = 'tinystories-656k-q4_k_m';
let session: DemoSession | undefined;

afterAll(async () => {
  await session?.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe('the demo runs a Q4_K_M TinyStories-656K', () => {
  it('lists it, loads it, and streams the greedy story the CPU reference gives on the same file', async () => {
    const dir = join(scratch, NAME);
    mkdirSync(dir);
    const { bytes, types } = quantizedGguf(await loadModel(tinystories656k.dir), 'Q4_K_M');
    expect(new Set(types.values())).toEqual(new Set(['f32', 'q5_0', 'q8_0']));
    writeFileSync(join(dir, `${NAME}.gguf`), bytes);
    // No tokenizer files beside it: the quantized file carries its tokenizer, as downloaded ones do.
    const { eos_token_id: _e, bos_token_id: _b, ...sampling } = hfRealJson(HF_REAL.llama32, 'generation_config.json')!;
    writeFileSync(join(dir, 'generation_config.json'), JSON.stringify(sampling));
    process.env.D2O_LOCAL_MODELS_DIR = scratch;

    const opening = 'Once upon a time';
    const cpu = await createEngine({ model: join(dir, `${NAME}.gguf`), backend: 'cpu' });
    const want = (await cpu.generate(opening, { maxTokens: 24, temperature: 0, stopAtEos: false }).result).text;
    cpu.dispose();

    session = await openDemo();
    await gotoDemo(session);
    const { page } = session;
    const path = `${NAME}/${NAME}.gguf`;
    expect(await page.locator('#local-model option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value))).toContain(path);
    await page.selectOption('#local-model', path);
    await page.click('#load');
    await page.waitForFunction(() => document.body.dataset.state !== 'loading', undefined, { timeout: 120_000 });
    expect(await page.evaluate(() => document.body.dataset.state), (await page.locator('#load-status').textContent()) ?? '').toBe('ready');
    expect(await page.locator('#sampling-defaults').textContent()).toContain('temperature 0.6, top-p 0.9, top-k 50');
    expect(await page.inputValue('#temperature')).toBe('0.6');
    expect(await page.inputValue('#top-p')).toBe('0.9');
    await page.fill('#temperature', '0');
    await page.fill('#max-tokens', '24');
    await page.fill('#prompt', opening);
    await page.click('#send');
    await page.waitForFunction(() => document.body.dataset.state === 'ready', undefined, { timeout: 120_000 });
    const reply = await page.evaluate(() => {
      const replies = document.querySelectorAll<HTMLElement>('#messages .msg.assistant .text');
      return replies[replies.length - 1]?.textContent ?? '';
    });
    expect(reply.replace(/\s+/g, ' ')).toContain(want.trim().replace(/\s+/g, ' ').slice(0, 40));
    expect(session.errors.filter((e) => e.startsWith('pageerror'))).toEqual([]);
  });
});
