/** API misuse on the CPU backend (the WebGPU route runs the same table in test/gpu-node/api-misuse.test.ts). */
import { describe, expect, it } from 'vitest';
import { disposedCase, engineMisuseCase, misuseCase, timerAbortCase } from '../cases/api-misuse';
import { expectDisposed, expectEngineMisuse, expectMisuse } from '../helpers/api-misuse';
import { tinystories656k } from '../helpers/models';

const o = { model: tinystories656k.dir, backend: 'cpu' as const };

describe('API misuse (cpu backend)', () => {
  it('each bad argument is a RangeError naming it, before anything runs; the conversation then reproduces its baseline', async () => {
    const r = await misuseCase(null, o);
    expect(r.baseline).toHaveLength(12);
    expectMisuse(r);
  });

  it('createEngine: bad options are RangeErrors naming them', async () => {
    expectEngineMisuse(await engineMisuseCase(null, o));
  });

  it('after dispose() every call fails with EngineDisposedError, a generation in flight too; dispose() again is harmless', async () => {
    const r = await disposedCase(null, o);
    expectDisposed(r);
  });

  it('a timer AbortSignal stops a generation: the decode loop yields to the event loop', async () => {
    const r = await timerAbortCase(null, o);
    expect(r.error?.name).toBe('AbortError');
    expect(r.ticks).toBeGreaterThan(1);
    expect(r.again).toEqual((await misuseCase(null, o)).baseline.slice(0, 6));
  });
});
