/** The demo's pure helpers: the figures every panel shows, the chart's scale, and the file check. */
import { describe, expect, it } from 'vitest';
import { kvFigures, mapHeld, percent } from '../../demo/kv-figures';
import { niceCeil } from '../../demo/layer-chart';
import { readFileSync } from 'node:fs';
import { checkFiles, ggufTokenizerModel } from '../../demo/model-picker';
import { writeGguf } from '../../src/model/gguf-writer';
import { tokenizerMetadata } from '../../src/model/gguf-tokenizer-metadata';
import { tinystories656k } from '../helpers/models';
import { HF_REAL, hfRealJson } from '../fixtures/hf-real';
import type { KvStats } from '../../src/index';

const stats = (over: Partial<KvStats> = {}): KvStats => ({
  policy: 'h2o',
  kvHeads: 4,
  sequenceLength: 100,
  bytesAllocated: 5000,
  bytesFull: 2 * 100 * 1000,
  bytesFullAllocated: 250_000,
  layers: [
    { budget: 32, hh: 16, recent: 16, occupancy: 32, evictions: 4 * 68, merges: 0, tau: null },
    { budget: 40, hh: 20, recent: 20, occupancy: 39.5, evictions: 4 * 60.5, merges: 10, tau: null },
  ],
  ...over,
});

describe('demo figures', () => {
  it('turn per-head sums into positions per layer that add up to the context', () => {
    const f = kvFigures(stats());
    expect(f.layers.map((l) => l.held + l.evicted)).toEqual([100, 100]);
    expect(f.layers[1]).toMatchObject({ evicted: 60.5, merged: 2.5, evictionsAllHeads: 242, mergesAllHeads: 10 });
    expect(f.held).toBe(35.75);
    expect(f.budgetMin).toBe(32);
    expect(f.budgetMax).toBe(40);
    // Held keys and values: the full cache's bytes per position and layer times the positions held.
    expect(f.bytesHeld).toBeCloseTo(71.5 * 1000, 9);
    expect(f.nothingEvicted).toBe(false);
  });

  it('the map counts a position by the share of heads holding it', () => {
    expect(mapHeld({ sequenceLength: 6, kvHeads: 4, layers: [{ kept: [0, 1, 5], keptHeads: [4, 2, 1], merged: [1], mergedHeads: [1] }] })).toEqual([1.75]);
  });

  it('percent and the chart scale read at a glance', () => {
    expect(percent(1, 3)).toBe('33%');
    expect(percent(1, 1000)).toBe('<1%');
    expect(percent(1, 0)).toBe('–');
    expect([5, 65, 103, 189, 205, 1000, 1001].map(niceCeil)).toEqual([5, 80, 120, 200, 250, 1000, 1200]);
  });
});

describe('picked files', () => {
  it("a .gguf's tokenizer model from its header, reading more of a large header", async () => {
    expect(await ggufTokenizerModel(new Blob([readFileSync(tinystories656k.gguf)]))).toBe('llama');
    expect(await ggufTokenizerModel(new Blob([writeGguf([['general.architecture', 'llama']], []) as Uint8Array<ArrayBuffer>]))).toBeNull();
    expect(await ggufTokenizerModel(new Blob(['not a gguf']))).toBe('unreadable');
    // TinyLlama's 32000 tokens, scores and 61249 merges: a header of several MB.
    const big = writeGguf([['general.architecture', 'llama'], ...tokenizerMetadata(hfRealJson(HF_REAL.tinyllama, 'tokenizer.json'), hfRealJson(HF_REAL.tinyllama, 'tokenizer_config.json'))], []);
    expect(big.byteLength).toBeGreaterThan(1 << 20);
    expect(await ggufTokenizerModel(new Blob([big as Uint8Array<ArrayBuffer>]))).toBe('llama');
    expect(await ggufTokenizerModel(new Blob([big.subarray(0, big.byteLength - 10) as Uint8Array<ArrayBuffer>]))).toBe('unreadable');
  });

  const f = (name: string) => new File(['x'], name);
  it('name what is missing, or which file loads', () => {
    expect(checkFiles([f('README.md')])).toMatchObject({ missing: expect.stringMatching(/^None of these files is a model/) });
    expect(checkFiles([f('model.safetensors')])).toMatchObject({ missing: expect.stringContaining('needs config.json and tokenizer.json') });
    // A .gguf alone: ready when its metadata carries a tokenizer, else it asks for tokenizer.json.
    expect(checkFiles([f('m.gguf')])).toMatchObject({ missing: 'Reading m.gguf’s metadata for its tokenizer…' });
    expect(checkFiles([f('m.gguf')], () => null)).toMatchObject({ missing: 'm.gguf carries no tokenizer in its metadata: add its tokenizer.json (from the model’s Hugging Face repository).' });
    const alone = checkFiles([f('m.gguf'), f('generation_config.json')], () => 'llama');
    expect(alone).toMatchObject({ label: 'm.gguf' });
    expect(('spec' in alone && Array.isArray(alone.spec) ? alone.spec : []).map((x) => x.name)).toEqual(['m.gguf', 'generation_config.json']);
    expect(checkFiles([f('m.gguf'), f('tokenizer.json')], () => null)).toMatchObject({ label: 'm.gguf' });
    expect(checkFiles([f('stories260K.bin')])).toMatchObject({ missing: expect.stringContaining('tokenizer .bin') });
    const two = checkFiles([f('b.gguf'), f('a.gguf'), f('tokenizer.json'), f('notes.txt')]);
    expect(two).toMatchObject({ label: 'a.gguf', note: '2 model files chosen: loading a.gguf. Not used: b.gguf.' });
    expect(('spec' in two && Array.isArray(two.spec) ? two.spec : []).map((x) => x.name)).toEqual(['a.gguf', 'tokenizer.json']);
    const hf = checkFiles([f('config.json'), f('tokenizer.json'), f('model-00002.safetensors'), f('model-00001.safetensors')]);
    expect(('spec' in hf && Array.isArray(hf.spec) ? hf.spec : []).map((x) => x.name)).toEqual(['config.json', 'tokenizer.json', 'model-00001.safetensors', 'model-00002.safetensors']);
    expect(checkFiles([f('stories260K.bin'), f('tok512.bin')])).toMatchObject({ label: 'stories260K.bin' });
  });
});
