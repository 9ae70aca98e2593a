/** The API-misuse table's checks, shared by the CPU (test/unit) and WebGPU (test/gpu-node) routes. */
import { expect } from 'vitest';
import type { disposedCase, engineMisuseCase, misuseCase } from '../cases/api-misuse';

/** Each bad argument is a RangeError (or the expected typed error) naming it; the conversation then reproduces its baseline. */
export function expectMisuse(r: Awaited<ReturnType<typeof misuseCase>>): void {
  for (const m of r.results) {
    expect({ name: m.name, error: m.error?.name }).toEqual({ name: m.name, error: m.expected });
    expect(m.error!.message, m.name).toContain(m.names);
    expect(m.reproduces, m.name).toBe(true);
  }
  expect(r.typedArrayReproduces).toBe(true);
}

export function expectEngineMisuse(results: Awaited<ReturnType<typeof engineMisuseCase>>): void {
  for (const m of results) {
    expect({ name: m.name, error: m.error?.name }).toEqual({ name: m.name, error: 'RangeError' });
    expect(m.error!.message, m.name).toContain(m.names);
  }
}

export function expectDisposed(r: Awaited<ReturnType<typeof disposedCase>>): void {
  expect(r.dispose).toBeNull();
  for (const k of ['generate', 'chat', 'kvStats', 'kvMap', 'reset', 'midGeneration'] as const) expect(r[k]?.name, k).toBe('EngineDisposedError');
}
