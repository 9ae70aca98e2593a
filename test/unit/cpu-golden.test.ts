import { describe, expect, it } from 'vitest';
import { loadModel } from '../../src/model/load';
import { CpuBackend } from '../../src/cpu/backend';
import { generateIds } from '../../src/engine/generate';
import { cpuWeights, type CpuWeights } from '../../src/cpu/weights';
import { CpuKvCache } from '../../src/cpu/kv-cache';
import { forward, RunState } from '../../src/cpu/forward';
import { golden, stories260K, tinystories656k } from '../helpers/models';

async function greedy(backend: CpuBackend, prompt: number[], maxTokens: number): Promise<number[]> {
  const out = [...prompt];
  for await (const id of generateIds(backend, prompt, { maxTokens, sampling: { greedy: true } })) out.push(id);
  return out;
}

/** Max |logit difference|, Q8_0 GGUF vs f32 safetensors: measured 0.24 over 200 positions, logits span +-28. */
const Q8_LOGIT_TOLERANCE = 0.5;

describe('CPU reference reproduces golden.json', () => {
  it('stories260K (llama2.c .bin), all 346 steps', async () => {
    const g = golden.stories260K;
    const backend = new CpuBackend(await loadModel(stories260K.bin));
    expect(await greedy(backend, g.prompt_ids, g.greedy_ids.length - g.prompt_ids.length)).toEqual(g.greedy_ids);
  });

  it('TinyStories-656K (safetensors), all 200 steps', async () => {
    const g = golden['tinystories-656k'];
    const backend = new CpuBackend(await loadModel(tinystories656k.dir));
    expect(await greedy(backend, g.prompt_ids, g.greedy_ids.length - g.prompt_ids.length)).toEqual(g.greedy_ids);
  });

  it('TinyStories-656K Q8_0 GGUF: logits close to safetensors, same greedy ids for 50 steps', async () => {
    const g = golden['tinystories-656k'];
    const run = (w: CpuWeights) => ({ w, s: new RunState(w), cache: new CpuKvCache(w.config.numLayers, w.config.numKvHeads, w.config.headDim) });
    const ref = run(cpuWeights(await loadModel(tinystories656k.dir)));
    const q8 = run(cpuWeights(await loadModel(tinystories656k.gguf)));
    // Teacher-force the golden ids through both and compare the logits at every position.
    let worst = 0;
    for (let pos = 0; pos < 64; pos++) {
      const a = forward(ref.w, ref.s, ref.cache, g.greedy_ids[pos], pos);
      const b = forward(q8.w, q8.s, q8.cache, g.greedy_ids[pos], pos);
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
    }
    expect(worst).toBeLessThan(Q8_LOGIT_TOLERANCE);
    const q8Backend = new CpuBackend(await loadModel(tinystories656k.gguf));
    expect((await greedy(q8Backend, g.prompt_ids, 50)).slice(0, 51)).toEqual(g.greedy_ids.slice(0, 51));
  });
});
