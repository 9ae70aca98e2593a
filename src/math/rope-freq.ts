/** RoPE's inverse frequencies, shared by the CPU reference and the GPU's RoPE table. */
import type { RopeConfig } from '../model/types';

/** Inverse frequencies of RoPE, one per rotated pair, with Llama-3 frequency scaling when set. */
export function ropeInvFreq(headDim: number, rope: RopeConfig): Float32Array {
  const half = headDim / 2;
  const inv = new Float32Array(half);
  for (let i = 0; i < half; i++) {
    let f = 1 / Math.pow(rope.theta, (2 * i) / headDim);
    const s = rope.scaling;
    if (s) {
      const lowWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
      const highWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor;
      const wavelen = (2 * Math.PI) / f;
      if (wavelen > lowWavelen) f = f / s.factor;
      else if (wavelen >= highWavelen) {
        const smooth = (s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
        f = (1 - smooth) * (f / s.factor) + smooth * f;
      }
    }
    inv[i] = f;
  }
  return inv;
}
