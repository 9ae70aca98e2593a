/**
 * Acceptance: the shared Q8_0 GGUF, dequantized, matches the float32 safetensors of the same model
 * for every tensor by canonical name. This proves the names, the shapes and the q/k un-permutation.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dequantize } from '../../src/model/dtypes';
import { f16BitsToF32 } from '../../src/model/half-float';
import { ggufTensors, parseGgufHeader } from '../../src/model/gguf';
import { loadHf } from '../../src/model/hf';
import { loadModel } from '../../src/model/load';
import { nodeDirSource } from '../../src/model/sources';
import { tensorNames } from '../../src/model/types';
import { tinystories656k } from '../helpers/models';

const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe('TinyStories-656K: Q8_0 GGUF vs float32 safetensors', async () => {
  const st = await loadHf(nodeDirSource(tinystories656k.dir));
  const gg = await loadModel(tinystories656k.gguf);

  it('the same canonical names, shapes and config', () => {
    expect([...gg.tensors.keys()].sort()).toEqual([...st.tensors.keys()].sort());
    for (const [name, t] of st.tensors) expect(gg.tensors.get(name)!.shape, name).toEqual(t.shape);
    expect(gg.config).toEqual(st.config);
  });

  // models/README.md says "within 0.014"; measured, 9 of the ~230k weights (layer-1 o_proj and
  // down_proj) differ by up to 0.01563, which is what Q8_0 allows their blocks (step d = 0.0317).
  // So every weight is held to its own block's bound: half a step, plus the rounding of the f16
  // scale d (relative <= 2^-11, times |q| <= 127). A wrong q/k row order is off by ~1.
  it.each([...st.tensors.keys()])('%s is within its Q8_0 block bound of the float32 weight', (name) => {
    const a = dequantize(st.tensors.get(name)!);
    const g = gg.tensors.get(name)!;
    const b = dequantize(g);
    expect(maxAbsDiff(a, b)).toBeLessThanOrEqual(0.0157);
    if (g.dtype !== 'q8_0') return expect(b).toEqual(a);
    const dv = new DataView(g.data.buffer, g.data.byteOffset, g.data.byteLength);
    for (let blk = 0; blk < a.length / 32; blk++) {
      const bound = Math.abs(f16BitsToF32(dv.getUint16(blk * 34, true))) * (0.5 + 127 * 2 ** -11);
      for (let j = blk * 32; j < blk * 32 + 32; j++) if (Math.abs(a[j] - b[j]) > bound) expect.fail(`${name}[${j}]: ${a[j]} vs ${b[j]}, bound ${bound}`);
    }
  });

  it('in GGUF row order, q would be far off: the bound above has teeth', () => {
    const bytes = new Uint8Array(readFileSync(tinystories656k.gguf));
    const rawQ = ggufTensors(bytes, parseGgufHeader(bytes)).get('blk.0.attn_q.weight')!;
    expect(maxAbsDiff(dequantize(st.tensors.get(tensorNames.layer(0).q)!), dequantize(rawQ))).toBeGreaterThan(0.5);
  });
});
