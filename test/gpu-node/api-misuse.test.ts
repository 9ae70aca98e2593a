/** API misuse on WebGPU (Node, Dawn): the table of test/cases/api-misuse.ts, as on the CPU. */
import { describe, expect, it } from 'vitest';
import { disposedCase, engineMisuseCase, misuseCase, timerAbortCase } from '../cases/api-misuse';
import { getTestDevice } from '../helpers/gpu';
import { tinystories656k } from '../helpers/models';

const o = { model: tinystories656k.dir, backend: 'webgpu' as const };

describe('API misuse (webgpu backend)', () => {
  it('each bad argument is a RangeError naming it, before anything runs; the conversation then reproduces its baseline', async () => {
    const r = await misuseCase(await getTestDevice(), o);
    const cpu = await misuseCase(null, { ...o, backend: 'cpu' });
    expect(r.baseline).toEqual(cpu.baseline);
    for (const m of r.results) {
      expect({ name: m.name, error: m.error?.name }).toEqual({ name: m.name, error: m.expected });
      expect(m.error!.message, m.name).toContain(m.names);
      expect(m.reproduces, m.name).toBe(true);
    }
    expect(r.typedArrayReproduces).toBe(true);
  });

  it('createEngine: bad options are RangeErrors naming them', async () => {
    for (const m of await engineMisuseCase(await getTestDevice(), o)) {
      expect({ name: m.name, error: m.error?.name }).toEqual({ name: m.name, error: 'RangeError' });
      expect(m.error!.message, m.name).toContain(m.names);
    }
  });

  it('after dispose() every call fails with EngineDisposedError, a generation in flight too; dispose() again is harmless', async () => {
    const r = await disposedCase(await getTestDevice(), o);
    expect(r.dispose).toBeNull();
    for (const k of ['generate', 'chat', 'kvStats', 'kvMap', 'reset', 'midGeneration'] as const) expect(r[k]?.name, k).toBe('EngineDisposedError');
  });

  it('a timer AbortSignal stops a generation', async () => {
    const r = await timerAbortCase(await getTestDevice(), o);
    expect(r.error?.name).toBe('AbortError');
    expect(r.again).toHaveLength(6);
  });
});
