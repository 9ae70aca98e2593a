/**
 * ggml's reference quantizers (ggml-quants.c, quantize_row_*_ref: the ones llama.cpp uses without an
 * importance matrix), step for step in float32 (`f` rounds each operation as C's float arithmetic
 * does), so the bytes are the ones llama-quantize writes for the same floats.
 */
import { f16BitsToF32, f32ToF16Bits } from './half-float';
import { BLOCKS, scaleMinK4, type BlockDType } from './block-formats';
import type { DType } from './types';

const f = Math.fround;
/** ggml's nearest_int: round half to even through the float32 adder (|x| < 2^22). */
const nearestInt = (x: number) => f(x + 12582912) - 12582912;
/** C's roundf; Math.round would send -2.5 to -2. */
const roundHalfAway = (v: number) => Math.sign(v) * Math.round(Math.abs(v));
/** The value a float32 takes once stored as f16 and read back (the scales' precision). */
const viaF16 = (x: number) => f16BitsToF32(f32ToF16Bits(x));
const GROUP_MAX_EPS = f(1e-15);

/** Quantizes `x` (whole blocks) to `dtype`'s llama.cpp layout; f32/f16/bf16 are plain encodings. */
export function quantize(dtype: DType, x: Float32Array): Uint8Array {
  switch (dtype) {
    case 'f32':
      return new Uint8Array(Float32Array.from(x).buffer);
    case 'f16':
      return new Uint8Array(Uint16Array.from(x, f32ToF16Bits).buffer);
    case 'bf16':
      // Round to nearest even on the upper 16 bits (NaN kept quiet).
      return new Uint8Array(Uint16Array.from(new Uint32Array(Float32Array.from(x).buffer), (u) => ((u & 0x7fffffff) > 0x7f800000 ? (u >>> 16) | 64 : (u + 0x7fff + ((u >>> 16) & 1)) >>> 16)).buffer);
    default:
      return quantizeBlocks(dtype, x);
  }
}

function quantizeBlocks(dtype: BlockDType, x: Float32Array): Uint8Array {
  const { elements, bytes } = BLOCKS[dtype];
  if (x.length % elements) throw new RangeError(`${dtype} needs a multiple of ${elements} values, got ${x.length}`);
  const out = new Uint8Array((x.length / elements) * bytes);
  const block = BLOCK_QUANTIZERS[dtype];
  for (let b = 0; b < x.length / elements; b++) block(x.subarray(b * elements, (b + 1) * elements), out.subarray(b * bytes, (b + 1) * bytes));
  return out;
}

type BlockQuantizer = (x: Float32Array, y: Uint8Array) => void;

const view = (y: Uint8Array) => new DataView(y.buffer, y.byteOffset, y.byteLength);
const setHalf = (y: Uint8Array, at: number, v: number) => view(y).setUint16(at, f32ToF16Bits(v), true);

/** The value of largest magnitude (the first one on ties), as ggml's "max" with its sign. */
function signedMax(x: Float32Array): number {
  let amax = 0;
  let max = 0;
  for (const v of x)
    if (amax < Math.abs(v)) {
      amax = Math.abs(v);
      max = v;
    }
  return max;
}

function minMax(x: Float32Array): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (const v of x) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return [min, max];
}

/** Packs 32 values of 4 or 5 bits as ggml's legacy blocks: nibbles at `qs`, fifth bits into a u32. */
function packLegacy(q: number[], y: Uint8Array, qs: number, qhAt: number | null): void {
  let qh = 0;
  for (let j = 0; j < 16; j++) {
    y[qs + j] = (q[j] & 15) | ((q[j + 16] & 15) << 4);
    qh |= ((q[j] & 0x10) >> 4) << j;
    qh |= ((q[j + 16] & 0x10) >> 4) << (j + 16);
  }
  if (qhAt !== null) view(y).setUint32(qhAt, qh >>> 0, true);
}

/** Symmetric legacy types: d = max / -half, q = min(levels - 1, trunc(x / d + half + 0.5)). */
function symmetric(levels: number, qs: number, qhAt: number | null): BlockQuantizer {
  return (x, y) => {
    const d = f(signedMax(x) / -(levels / 2));
    const id = d ? f(1 / d) : 0;
    setHalf(y, 0, d);
    const q = Array.from(x, (v) => Math.min(levels - 1, Math.trunc(f(f(v * id) + (levels / 2 + 0.5)))));
    packLegacy(q, y, qs, qhAt);
  };
}

/** Legacy types with a min: d = (max - min) / (levels - 1), q = trunc((x - min) / d + 0.5). */
function affine(levels: number, qhAt: number | null, clamp: boolean): BlockQuantizer {
  return (x, y) => {
    const [min, max] = minMax(x);
    const d = f(f(max - min) / (levels - 1));
    const id = d ? f(1 / d) : 0;
    setHalf(y, 0, d);
    setHalf(y, 2, min);
    // Q5_1 does not clamp: a value rounding to 32 keeps only its low five bits, as in ggml.
    const q = Array.from(x, (v) => {
      const t = Math.trunc(f(f(f(v - min) * id) + 0.5)) & 0xff;
      return clamp ? Math.min(levels - 1, t) : t;
    });
    packLegacy(q, y, qhAt === null ? 4 : 8, qhAt);
  };
}

const quantizeQ8_0Block: BlockQuantizer = (x, y) => {
  let amax = 0;
  for (const v of x) amax = Math.max(amax, Math.abs(v));
  const d = f(amax / 127);
  const id = d ? f(1 / d) : 0;
  setHalf(y, 0, d);
  const dv = view(y);
  for (let j = 0; j < 32; j++) dv.setInt8(2 + j, roundHalfAway(f(x[j] * id)));
};

/**
 * ggml's make_qkx2_quants: the scale and min (returned as a positive offset) that minimize the
 * weighted error of `x` as scale * L - min with L in [0, nmax], searching nstep + 1 scales.
 */
function makeQkx2(x: Float32Array, weights: Float32Array, nmax: number, L: Uint8Array, rmin: number, rdelta: number, nstep: number): { scale: number; min: number } {
  const n = x.length;
  let min = x[0];
  let max = x[0];
  let sumW = weights[0];
  let sumX = f(sumW * x[0]);
  for (let i = 1; i < n; i++) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    sumW = f(sumW + weights[i]);
    sumX = f(sumX + f(weights[i] * x[i]));
  }
  if (min > 0) min = 0;
  if (max === min) {
    L.fill(0);
    return { scale: 0, min: -min };
  }
  let iscale = f(nmax / f(max - min));
  let scale = f(1 / iscale);
  let bestError = 0;
  for (let i = 0; i < n; i++) {
    L[i] = Math.max(0, Math.min(nmax, nearestInt(f(iscale * f(x[i] - min)))));
    const diff = f(f(f(scale * L[i]) + min) - x[i]);
    bestError = f(bestError + f(weights[i] * f(diff * diff)));
  }
  const aux = new Uint8Array(n);
  for (let is = 0; is <= nstep; is++) {
    iscale = f(f(f(rmin + f(rdelta * is)) + nmax) / f(max - min));
    let sumL = 0;
    let sumL2 = 0;
    let sumXL = 0;
    for (let i = 0; i < n; i++) {
      const l = Math.max(0, Math.min(nmax, nearestInt(f(iscale * f(x[i] - min)))));
      aux[i] = l;
      const wl = f(weights[i] * l);
      sumL = f(sumL + wl);
      sumL2 = f(sumL2 + f(wl * l));
      sumXL = f(sumXL + f(wl * x[i]));
    }
    const D = f(f(sumW * sumL2) - f(sumL * sumL));
    if (D > 0) {
      let thisScale = f(f(f(sumW * sumXL) - f(sumX * sumL)) / D);
      let thisMin = f(f(f(sumL2 * sumX) - f(sumL * sumXL)) / D);
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = f(sumXL / sumL2);
      }
      let curError = 0;
      for (let i = 0; i < n; i++) {
        const diff = f(f(f(thisScale * aux[i]) + thisMin) - x[i]);
        curError = f(curError + f(weights[i] * f(diff * diff)));
      }
      if (curError < bestError) {
        L.set(aux);
        bestError = curError;
        scale = thisScale;
        min = thisMin;
      }
    }
  }
  return { scale, min: -min };
}

/**
 * Q4_K and Q5_K: per 32-element sub-block a (scale, min) from make_qkx2_quants, both then quantized
 * to 6 bits against the super-block's d and dmin (f16), and the values requantized against those.
 */
function kQuantWithMin(bits: 4 | 5): BlockQuantizer {
  const nmax = (1 << bits) - 1;
  const [rmin, rdelta, nstep] = bits === 4 ? [-1, f(0.1), 20] : [-0.5, f(0.1), 15];
  return (x, y) => {
    const L = new Uint8Array(256);
    const scales = new Float32Array(8);
    const mins = new Float32Array(8);
    const weights = new Float32Array(32);
    let maxScale = 0;
    let maxMin = 0;
    for (let j = 0; j < 8; j++) {
      const xs = x.subarray(32 * j, 32 * j + 32);
      let sumX2 = 0;
      for (const v of xs) sumX2 = f(sumX2 + f(v * v));
      const avX = f(Math.sqrt(f(sumX2 / 32)));
      for (let l = 0; l < 32; l++) weights[l] = f(avX + Math.abs(xs[l]));
      const r = makeQkx2(xs, weights, nmax, L.subarray(32 * j, 32 * j + 32), rmin, rdelta, nstep);
      scales[j] = r.scale;
      mins[j] = r.min;
      if (r.scale > maxScale) maxScale = r.scale;
      if (r.min > maxMin) maxMin = r.min;
    }
    const invScale = maxScale > 0 ? f(63 / maxScale) : 0;
    const invMin = maxMin > 0 ? f(63 / maxMin) : 0;
    const sc = y.subarray(4, 16);
    sc.fill(0);
    for (let j = 0; j < 8; j++) {
      const ls = Math.min(63, nearestInt(f(invScale * scales[j])) & 0xff);
      const lm = Math.min(63, nearestInt(f(invMin * mins[j])) & 0xff);
      if (j < 4) {
        sc[j] = ls;
        sc[j + 4] = lm;
      } else {
        sc[j + 4] = (ls & 0xf) | ((lm & 0xf) << 4);
        sc[j - 4] |= (ls >> 4) << 6;
        sc[j] |= (lm >> 4) << 6;
      }
    }
    setHalf(y, 0, f(maxScale / 63));
    setHalf(y, 2, f(maxMin / 63));
    const d = viaF16(f(maxScale / 63));
    const dmin = viaF16(f(maxMin / 63));
    for (let j = 0; j < 8; j++) {
      const [s, m] = scaleMinK4(j, sc);
      const dj = f(d * s);
      if (!dj) continue;
      const dm = f(dmin * m);
      for (let i = 0; i < 32; i++) L[32 * j + i] = Math.max(0, Math.min(nmax, nearestInt(f(f(x[32 * j + i] + dm) / dj))));
    }
    const qs = bits === 4 ? 16 : 48;
    if (bits === 5) y.fill(0, 16, 48);
    for (let g = 0; g < 4; g++)
      for (let l = 0; l < 32; l++) {
        let l1 = L[64 * g + l];
        let l2 = L[64 * g + l + 32];
        if (bits === 5) {
          if (l1 > 15) {
            l1 -= 16;
            y[16 + l] |= 1 << (2 * g);
          }
          if (l2 > 15) {
            l2 -= 16;
            y[16 + l] |= 2 << (2 * g);
          }
        }
        y[qs + 32 * g + l] = l1 | (l2 << 4);
      }
  };
}

/** ggml's make_qx_quants with rmse_type 1 and no importance weights (x^2 weighting), n = 16, nmax = 32. */
function makeQx(x: Float32Array, nmax: number, L: Int8Array): number {
  const max = signedMax(x);
  if (Math.abs(max) < GROUP_MAX_EPS) {
    L.fill(0);
    return 0;
  }
  const sums = (iscale: number, store: boolean) => {
    let sumlx = 0;
    let suml2 = 0;
    for (let i = 0; i < x.length; i++) {
      const l = Math.max(-nmax, Math.min(nmax - 1, nearestInt(f(iscale * x[i]))));
      if (store) L[i] = l + nmax;
      const w = f(x[i] * x[i]);
      sumlx = f(sumlx + f(f(w * x[i]) * l));
      suml2 = f(suml2 + f(f(w * l) * l));
    }
    return [sumlx, suml2];
  };
  let [sumlx, suml2] = sums(f(-nmax / max), true);
  let scale = suml2 ? f(sumlx / suml2) : 0;
  let best = f(scale * sumlx);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    const iscale = f(-f(nmax + f(f(0.1) * is)) / max);
    [sumlx, suml2] = sums(iscale, false);
    if (suml2 > 0 && f(sumlx * sumlx) > f(best * suml2)) {
      sums(iscale, true);
      scale = f(sumlx / suml2);
      best = f(scale * sumlx);
    }
  }
  return scale;
}

/** Q6_K: 16 sub-blocks of 16, each scale from make_qx_quants, quantized to int8 against d (f16). */
const quantizeQ6KBlock: BlockQuantizer = (x, y) => {
  const L = new Int8Array(256);
  const scales = new Float32Array(16);
  let maxScale = 0;
  let maxAbsScale = 0;
  for (let ib = 0; ib < 16; ib++) {
    const s = makeQx(x.subarray(16 * ib, 16 * ib + 16), 32, L.subarray(16 * ib, 16 * ib + 16));
    scales[ib] = s;
    if (Math.abs(s) > maxAbsScale) {
      maxAbsScale = Math.abs(s);
      maxScale = s;
    }
  }
  y.fill(0);
  if (maxAbsScale < GROUP_MAX_EPS) return;
  const iscale = f(-128 / maxScale);
  setHalf(y, 208, f(1 / iscale));
  const d = viaF16(f(1 / iscale));
  const sc = new Int8Array(y.buffer, y.byteOffset + 192, 16);
  for (let ib = 0; ib < 16; ib++) sc[ib] = Math.min(127, nearestInt(f(iscale * scales[ib])));
  for (let j = 0; j < 16; j++) {
    const dj = f(d * sc[j]);
    if (!dj) continue;
    for (let i = 0; i < 16; i++) L[16 * j + i] = Math.max(-32, Math.min(31, nearestInt(f(x[16 * j + i] / dj)))) + 32;
  }
  for (let n = 0; n < 2; n++)
    for (let l = 0; l < 32; l++) {
      const q = [0, 1, 2, 3].map((k) => L[128 * n + l + 32 * k]);
      y[64 * n + l] = (q[0] & 15) | ((q[2] & 15) << 4);
      y[64 * n + l + 32] = (q[1] & 15) | ((q[3] & 15) << 4);
      y[128 + 32 * n + l] = (q[0] >> 4) | ((q[1] >> 4) << 2) | ((q[2] >> 4) << 4) | ((q[3] >> 4) << 6);
    }
};

const BLOCK_QUANTIZERS: Record<BlockDType, BlockQuantizer> = {
  q8_0: quantizeQ8_0Block,
  q4_0: symmetric(16, 2, null),
  q5_0: symmetric(32, 6, 2),
  q4_1: affine(16, null, true),
  q5_1: affine(32, 4, false),
  q4_k: kQuantWithMin(4),
  q5_k: kQuantWithMin(5),
  q6_k: quantizeQ6KBlock,
};
