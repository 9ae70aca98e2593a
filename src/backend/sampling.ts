/** Sampling settings shared by the CPU reference and the GPU sampler; both must draw the same ids. */
export interface SamplingOptions {
  /** 0 (or `greedy: true`) means argmax. */
  temperature?: number;
  topK?: number;
  topP?: number;
  /** > 1 penalises tokens already in the context (CTRL / llama.cpp rule). */
  repetitionPenalty?: number;
  /** How many of the most recent context tokens the penalty looks at (1 to 256). */
  repetitionWindow?: number;
  seed?: number;
  greedy?: boolean;
}

export interface ResolvedSampling {
  greedy: boolean;
  temperature: number;
  topK: number;
  topP: number;
  repetitionPenalty: number;
  repetitionWindow: number;
  seed: number;
}

export function resolveSampling(o: SamplingOptions = {}): ResolvedSampling {
  const temperature = o.temperature ?? 1;
  return {
    greedy: o.greedy === true || temperature <= 0,
    temperature,
    topK: Math.max(0, Math.floor(o.topK ?? 0)),
    topP: o.topP ?? 1,
    repetitionPenalty: o.repetitionPenalty ?? 1,
    repetitionWindow: Math.min(256, Math.max(1, Math.floor(o.repetitionWindow ?? 64))),
    seed: (o.seed ?? 0x2545f491) >>> 0,
  };
}

/**
 * Uniform in [0, 1) from (seed, step) by a PCG hash, so that the GPU (which has no state between
 * dispatches worth keeping) and the CPU draw the very same number for the same step.
 */
export function uniformAt(seed: number, step: number): number {
  let s = (Math.imul(seed >>> 0, 747796405) + Math.imul(step >>> 0, 2891336453) + 1) >>> 0;
  s = (Math.imul(s, 747796405) + 2891336453) >>> 0;
  const word = Math.imul(((s >>> ((s >>> 28) + 4)) ^ s) >>> 0, 277803737) >>> 0;
  const h = ((word >>> 22) ^ word) >>> 0;
  // 24 bits: exactly representable in f32 on the GPU.
  return (h >>> 8) / 16777216;
}
