/** API misuse on WebGPU (Node, Dawn): the table of test/cases/api-misuse.ts, as on the CPU. */
import { describe, expect, it } from 'vitest';
import { disposedCase, engineMisuseCase, misuseCase, timerAbortCase } from '../cases/api-misuse';
import { getTestDevice } from '../helpers/gpu';
import { expectDisposed, expectEngineMisuse, expectMisuse } from '../helpers/api-misuse';
import { tinystories656k } from '../helpers/models';

const o = { model: tinystories656k.dir, backend: 'webgpu' as const };

describe('API misuse (webgpu backend)', () => {
  it('each bad argument is a RangeError naming it, before anything runs; the conversation then reproduces its baseline', async () => {
    const r = await misuseCase(await getTestDevice(), o);
    const cpu = await misuseCase(null, { ...o, backend: 'cpu' });
    expect(r.baseline).toEqual(cpu.baseline);
    expectMisuse(r);
  });

  it('createEngine: bad options are RangeErrors naming them', async () => {
    expectEngineMisuse(await engineMisuseCase(await getTestDevice(), o));
  });

  it('after dispose() every call fails with EngineDisposedError, a generation in flight too; dispose() again is harmless', async () => {
    const r = await disposedCase(await getTestDevice(), o);
    expectDisposed(r);
  });

  it('a timer AbortSignal stops a generation', async () => {
    const r = await timerAbortCase(await getTestDevice(), o);
    expect(r.error?.name).toBe('AbortError');
    expect(r.again).toHaveLength(6);
  });
});
