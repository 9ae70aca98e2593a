/** The token-by-token decoding loop shared by every backend. */
import type { Backend } from '../backend/backend';
import { resolveSampling, type SamplingOptions } from '../backend/sampling';
import { throwIfAborted } from '../errors';

export interface GenerateIdsOptions {
  maxTokens: number;
  /** Generation ends after emitting one of these (the stop id is yielded). */
  stopIds?: readonly number[];
  sampling?: SamplingOptions;
  signal?: AbortSignal;
}

/** Appends `promptIds` to the backend's context and yields each generated id. */
export async function* generateIds(backend: Backend, promptIds: number[], o: GenerateIdsOptions): AsyncGenerator<number> {
  const sampling = resolveSampling(o.sampling);
  const stop = new Set(o.stopIds ?? []);
  if (o.maxTokens <= 0) return;
  let next = await backend.append(promptIds, sampling, 0, o.signal);
  for (let step = 1; ; step++) {
    yield next;
    if (stop.has(next) || step >= o.maxTokens) return;
    throwIfAborted(o.signal);
    next = await backend.append([next], sampling, step, o.signal);
  }
}
