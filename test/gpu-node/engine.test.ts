import { describe, expect, it } from 'vitest';
import { getTestDevice } from '../helpers/gpu';
import { golden, tinystories656k } from '../helpers/models';
import { abortCase, continueCase, overflowCase, streamCase } from '../cases/engine';
import { editedTurnCase, tinyllamaChat } from '../cases/chat-reuse';
import { createEngine } from '../../src/engine/engine';
import { DeviceLostError } from '../../src/errors';
import { acquireDevice } from '../../src/gpu/device';

const g = golden['tinystories-656k'];
const o = { model: tinystories656k.dir, backend: 'webgpu' as const };

describe('engine on WebGPU (Node)', () => {
  it('streams the golden ids; the chunks add up to the text', async () => {
    const r = await streamCase(await getTestDevice(), o, g.prompt_ids, { maxTokens: 200, stopAtEos: false });
    expect([...g.prompt_ids, ...r.ids]).toEqual(g.greedy_ids);
    expect(r.joined).toBe(g.text);
  });

  it('with d2o under a 16-token budget: the same ids as the CPU engine, evictions and merges, less KV memory', async () => {
    const kv = { policy: 'd2o' as const, budget: 16 };
    const prompt = g.greedy_ids.slice(0, 40);
    const gpu = await streamCase(await getTestDevice(), { ...o, kv }, prompt, { maxTokens: 80, stopAtEos: false });
    const cpu = await streamCase(null, { ...o, backend: 'cpu', kv }, prompt, { maxTokens: 80, stopAtEos: false });
    expect(gpu.ids).toEqual(cpu.ids);
    expect(gpu.stats.kv.layers.every((l) => l.evictions > 0 && l.merges > 0)).toBe(true);
    expect(gpu.stats.kv.bytesAllocated).toBeLessThan(gpu.stats.kv.bytesFull);
  });

  it('abort, continue and overflow behave as on the CPU', async () => {
    const ctx = await getTestDevice();
    const a = await abortCase(ctx, o, g.prompt_ids, 5);
    expect(a.error).toBe('AbortError');
    expect([...g.prompt_ids, ...a.again]).toEqual(g.greedy_ids.slice(0, 21));
    const c = await continueCase(ctx, o, g.greedy_ids.slice(0, 30), g.greedy_ids.slice(100, 150));
    expect(c.continued).toEqual(c.whole);
    // The full cache holds the model's context; a compressing policy takes a prompt of any length.
    expect((await overflowCase(ctx, o, 600)).error).toBe('ContextOverflowError');
    expect((await overflowCase(ctx, { ...o, kv: { policy: 'h2o', budget: 16 }, prefillChunk: 64 }, 700)).error).toBeNull();
  });

  it('chat under d2o in chunks of 64: an edited earlier message recomputes the conversation instead of failing', async () => {
    const r = await editedTurnCase({ model: tinyllamaChat(), backend: 'webgpu', kv: { policy: 'd2o', budget: 16 }, prefillChunk: 64 }, await getTestDevice());
    expect(r.cached).toBe(0);
    expect(r.heldBefore).toBeGreaterThan(64);
    expect(r.reply).toBe(r.freshReply);
    expect(r.withinBudget).toBe(true);
  });

  it('a lost device is reported as DeviceLostError, and a new engine works', async () => {
    const ctx = await acquireDevice();
    const engine = await createEngine({ ...o, gpu: ctx });
    await engine.generate(g.prompt_ids, { maxTokens: 3 }).result;
    ctx.device.destroy();
    await expect(engine.generate(g.prompt_ids, { maxTokens: 3 }).result).rejects.toThrow(DeviceLostError);
    engine.dispose();
    const again = await createEngine(o);
    const r = await again.generate(g.prompt_ids, { greedy: true, maxTokens: 10 }).result;
    expect([...g.prompt_ids, ...r.ids]).toEqual(g.greedy_ids.slice(0, 11));
    again.dispose();
  });
});
