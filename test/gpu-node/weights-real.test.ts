/** The kernels on the real tensors of TinyStories-656K: f32 safetensors and the Q8_0 GGUF. */
import { beforeAll, describe, expect, it } from 'vitest';
import { getTestDevice } from '../helpers/gpu';
import { tinystories656k } from '../helpers/models';
import { expectedLayout, productOnTensor, type ProductResult } from '../cases/weights-kernels';
import { loadModel } from '../../src/model/load';
import { tensorNames, type ModelDescription, type Tensor } from '../../src/model/types';
import { uploadTensor } from '../../src/gpu/weights';
import { readBuffer } from '../../src/gpu/buffers';

const ok = (r: ProductResult) => expect(r.ok, JSON.stringify(r)).toBe(true);

const sources = { safetensors: tinystories656k.dir, gguf: tinystories656k.gguf };
const models: Record<string, ModelDescription> = {};
beforeAll(async () => {
  for (const [k, path] of Object.entries(sources)) models[k] = await loadModel(path);
});

const tensor = (source: string, name: string): Tensor => {
  const t = models[source].tensors.get(name);
  if (!t) throw new Error(`${source} has no ${name}`);
  return t;
};

describe.each(Object.keys(sources))('TinyStories-656K %s', (source) => {
  const names = { q_proj: tensorNames.layer(0).q, lm_head: tensorNames.lmHead };

  it('has the expected formats', () => {
    expect(tensor(source, names.lm_head).dtype).toBe(source === 'gguf' ? 'q8_0' : 'f32');
    expect(tensor(source, names.q_proj).shape).toEqual([128, 128]);
    expect(tensor(source, names.lm_head).shape).toEqual([2048, 128]);
  });

  it.each(Object.entries(names))('%s uploads in the documented layout (also in forced slices)', async (_, name) => {
    const ctx = await getTestDevice();
    const t = tensor(source, name);
    for (const maxBinding of [undefined, 4096]) {
      const g = uploadTensor(ctx, t, { maxBinding });
      if (maxBinding) expect(g.slices.length).toBeGreaterThan(1);
      for (const s of g.slices) {
        const want = expectedLayout(t, s.rowStart, s.rowStart + s.rows);
        expect(new Uint8Array(await readBuffer(ctx.device, s.data, want.data.length))).toEqual(want.data);
        if (want.scales) expect(new Uint8Array(await readBuffer(ctx.device, s.scales!, want.scales.length))).toEqual(want.scales);
      }
      g.destroy();
    }
  });

  for (const variant of ['simple', 'tiled'] as const) {
    it.each(Object.entries(names))(`%s matvec and matmul (T 1, 3, 17), ${variant}`, async (_, name) => {
      const ctx = await getTestDevice();
      const t = tensor(source, name);
      ok(await productOnTensor(ctx, { dtype: t.dtype, variant, rows: t.shape[0], cols: t.shape[1], seed: 5 }, t, true));
      for (const tokens of [1, 3, 17]) ok(await productOnTensor(ctx, { dtype: t.dtype, variant, rows: t.shape[0], cols: t.shape[1], tokens, seed: tokens }, t, false));
      ok(await productOnTensor(ctx, { dtype: t.dtype, variant, rows: t.shape[0], cols: t.shape[1], tokens: 5, accumulate: true, maxBinding: 8192, seed: 9 }, t, false));
    });
  }
});
