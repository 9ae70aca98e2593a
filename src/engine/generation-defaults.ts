/**
 * The sampling a model's authors ship in generation_config.json, as the engine's defaults when the
 * caller gives none (what Transformers and transformers.js do): do_sample false is greedy; with
 * do_sample true, the fields it leaves out take Transformers' defaults (temperature 1, top_p 1,
 * top_k 50); without do_sample, only the fields it gives are taken. Values of the wrong type or
 * range are a ModelFormatError naming the file.
 */
import { ModelFormatError } from '../errors';
import type { SamplingOptions } from '../backend/sampling';

const FILE = 'generation_config.json';

export function generationDefaults(gc: Record<string, unknown> | null): SamplingOptions {
  if (!gc) return {};
  const bad = (key: string, what: string) => new ModelFormatError('bad-config', `${key} must be ${what}, got ${JSON.stringify(gc[key])}`, FILE);
  const doSample = gc.do_sample;
  if (doSample !== undefined && typeof doSample !== 'boolean') throw bad('do_sample', 'true or false');
  if (doSample === false) return { greedy: true };
  const num = (key: string, ok: (v: number) => boolean, what: string): number | undefined => {
    const v = gc[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !ok(v)) throw bad(key, what);
    return v;
  };
  const out: SamplingOptions = {};
  const temperature = num('temperature', (v) => Number.isFinite(v) && v >= 0, 'a number of at least 0');
  const topP = num('top_p', (v) => v > 0 && v <= 1, 'a number above 0 and at most 1');
  const topK = num('top_k', (v) => Number.isInteger(v) && v >= 0, 'an integer of at least 0');
  const repetitionPenalty = num('repetition_penalty', (v) => Number.isFinite(v) && v > 0, 'a number above 0');
  if (temperature !== undefined) out.temperature = temperature;
  if (topP !== undefined) out.topP = topP;
  if (topK !== undefined) out.topK = topK;
  if (repetitionPenalty !== undefined) out.repetitionPenalty = repetitionPenalty;
  if (doSample === true) return { temperature: 1, topP: 1, topK: 50, ...out };
  return out;
}

/** A fresh 32-bit seed, so two identical requests draw different replies unless a seed is given. */
export function freshSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}
