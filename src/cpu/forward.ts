/**
 * The CPU reference forward pass, one token at a time, in the spirit of llama2.c's run.c:
 * embedding -> per layer (RMSNorm, QKV, RoPE, cache, GQA attention, output projection, residual,
 * RMSNorm, SwiGLU MLP, residual) -> final RMSNorm -> LM head. It is the oracle of every GPU test.
 */
import type { CpuWeights } from './weights';
import type { CpuKvCache } from './kv-cache';
import { matvec, rmsnorm, rope, silu } from './ops';
import { ropeInvFreq } from '../math/rope-freq';
import { attendGroup } from './attention';

/** Scratch buffers, allocated once per model. */
export class RunState {
  readonly x: Float32Array;
  readonly xb: Float32Array;
  readonly xb2: Float32Array;
  readonly q: Float32Array;
  readonly k: Float32Array;
  readonly v: Float32Array;
  readonly hb: Float32Array;
  readonly hb2: Float32Array;
  readonly logits: Float32Array;
  readonly invFreq: Float32Array;

  constructor(w: CpuWeights) {
    const c = w.config;
    const kvDim = c.numKvHeads * c.headDim;
    this.x = new Float32Array(c.hiddenSize);
    this.xb = new Float32Array(c.numHeads * c.headDim);
    this.xb2 = new Float32Array(c.hiddenSize);
    this.q = new Float32Array(c.numHeads * c.headDim);
    this.k = new Float32Array(kvDim);
    this.v = new Float32Array(kvDim);
    this.hb = new Float32Array(c.intermediateSize);
    this.hb2 = new Float32Array(c.intermediateSize);
    this.logits = new Float32Array(c.vocabSize);
    this.invFreq = ropeInvFreq(c.headDim, c.rope);
  }
}

/**
 * Runs token `token` at position `pos`, appending its K/V to `cache` and adding the attention each
 * cached token receives to its score (and, with `colsum[layer][head]`, to per-head column sums).
 * Returns the logits (a view into `s.logits`).
 */
export function forward(w: CpuWeights, s: RunState, cache: CpuKvCache, token: number, pos: number, colsum?: number[][][]): Float32Array {
  const c = w.config;
  const dim = c.hiddenSize;
  const hd = c.headDim;
  const group = c.numHeads / c.numKvHeads;
  const qDim = c.numHeads * hd;
  const kvDim = c.numKvHeads * hd;

  s.x.set(w.embed.subarray(token * dim, (token + 1) * dim));

  for (let l = 0; l < c.numLayers; l++) {
    const lw = w.layers[l];

    // Attention block.
    rmsnorm(s.xb2, s.x, lw.attnNorm, c.rmsNormEps);
    matvec(s.q, lw.q, s.xb2, qDim, dim);
    matvec(s.k, lw.k, s.xb2, kvDim, dim);
    matvec(s.v, lw.v, s.xb2, kvDim, dim);
    if (lw.qkvBias) {
      for (let i = 0; i < qDim; i++) s.q[i] += lw.qkvBias.q[i];
      for (let i = 0; i < kvDim; i++) s.k[i] += lw.qkvBias.k[i];
      for (let i = 0; i < kvDim; i++) s.v[i] += lw.qkvBias.v[i];
    }
    rope(s.q, c.numHeads, hd, pos, s.invFreq, c.rope.layout);
    rope(s.k, c.numKvHeads, hd, pos, s.invFreq, c.rope.layout);

    for (let kvh = 0; kvh < c.numKvHeads; kvh++) {
      const slots = cache.heads[l][kvh];
      slots.append(s.k.subarray(kvh * hd, (kvh + 1) * hd), s.v.subarray(kvh * hd, (kvh + 1) * hd), pos);
      // Each KV head is read once for its whole query group: no K/V expansion.
      attendGroup(slots, s.q.subarray(kvh * group * hd, (kvh + 1) * group * hd), s.xb.subarray(kvh * group * hd, (kvh + 1) * group * hd), group, pos, c.slidingWindow, colsum?.[l].slice(kvh * group, (kvh + 1) * group));
    }

    matvec(s.xb2, lw.o, s.xb, dim, qDim);
    for (let i = 0; i < dim; i++) s.x[i] += s.xb2[i];

    // SwiGLU MLP block.
    rmsnorm(s.xb2, s.x, lw.mlpNorm, c.rmsNormEps);
    matvec(s.hb, lw.gate, s.xb2, c.intermediateSize, dim);
    matvec(s.hb2, lw.up, s.xb2, c.intermediateSize, dim);
    for (let i = 0; i < c.intermediateSize; i++) s.hb[i] = silu(s.hb[i]) * s.hb2[i];
    matvec(s.xb2, lw.down, s.hb, dim, c.intermediateSize);
    for (let i = 0; i < dim; i++) s.x[i] += s.xb2[i];
  }

  rmsnorm(s.x, s.x, w.finalNorm, c.rmsNormEps);
  matvec(s.logits, w.lmHead, s.x, c.vocabSize, dim);
  return s.logits;
}
