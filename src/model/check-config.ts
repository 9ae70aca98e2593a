/**
 * Every loader's ModelConfig passes here before a tensor is read: counts are positive integers
 * within what the GPU indexes, the head layout is consistent, float settings are finite and
 * positive, and token ids fall inside the vocabulary. A value that fails would otherwise give
 * NaN logits, a model with no layers, or runaway allocations later.
 */
import { ModelFormatError } from '../errors';
import type { ModelConfig } from './types';

/** Shapes, positions and ids are u32 on the GPU, indexed in i32 arithmetic. */
const MAX_COUNT = 2 ** 31 - 1;

/** What the file calls each setting, for messages ("num_hidden_layers" rather than "numLayers"). */
export type ConfigKeys = Partial<Record<keyof ModelConfig | 'rope.theta' | 'rope.scaling', string>>;

export function checkConfig(c: ModelConfig, file: string, keys: ConfigKeys = {}): void {
  const bad = (key: keyof ConfigKeys, what: string, v: unknown) =>
    new ModelFormatError('bad-config', `${keys[key] ?? key} must be ${what}, got ${typeof v === 'number' ? v : JSON.stringify(v)}`, file);
  const count = (key: keyof ModelConfig) => {
    const v = c[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0 || v > MAX_COUNT) throw bad(key, `an integer from 1 to ${MAX_COUNT}`, v);
  };
  for (const key of ['hiddenSize', 'intermediateSize', 'numLayers', 'numHeads', 'numKvHeads', 'headDim', 'vocabSize', 'maxPositionEmbeddings'] as const) count(key);
  if (c.slidingWindow !== null) count('slidingWindow');
  if (c.numHeads % c.numKvHeads) throw bad('numKvHeads', `a divisor of the ${c.numHeads} attention heads`, c.numKvHeads);
  if (c.headDim % 2) throw bad('headDim', 'even (RoPE rotates pairs)', c.headDim);
  const positive = (key: keyof ConfigKeys, v: number) => {
    if (!(Number.isFinite(v) && v > 0)) throw bad(key, 'a finite number above 0', v);
  };
  positive('rmsNormEps', c.rmsNormEps);
  // Below 1 the RoPE frequencies grow with the pair index (and overflow float32 near 0).
  if (!(Number.isFinite(c.rope.theta) && c.rope.theta > 1)) throw bad('rope.theta', 'a finite number above 1', c.rope.theta);
  const s = c.rope.scaling;
  if (s) {
    for (const v of [s.factor, s.lowFreqFactor, s.highFreqFactor, s.originalMaxPositionEmbeddings]) positive('rope.scaling', v);
    if (!(s.highFreqFactor > s.lowFreqFactor)) throw bad('rope.scaling', 'a high_freq_factor above its low_freq_factor', s.highFreqFactor);
  }
  const id = (key: 'bosTokenId' | 'eosTokenIds', v: number) => {
    if (!Number.isInteger(v) || v < 0 || v >= c.vocabSize) throw bad(key, `a token id from 0 to ${c.vocabSize - 1}`, v);
  };
  if (c.bosTokenId !== null) id('bosTokenId', c.bosTokenId);
  for (const e of c.eosTokenIds) id('eosTokenIds', e);
}
