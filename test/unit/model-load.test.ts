/** loadModel: one entry point that finds the format and the tokenizer, whatever the spec. */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AbortError } from '../../src/errors';
import { loadModel } from '../../src/model/load';
import { nodeDirSource, urlSource } from '../../src/model/sources';
import type { LoadProgress } from '../../src/model/types';
import { expectFormatErrorAsync, memoryFolder } from '../fixtures/model-builders';
import { stories260K, tinystories656k } from '../helpers/models';
import { scratchDir } from '../helpers/scratch';

/** A fake web server over a folder, with real 404s. */
const served = (dir: string) =>
  urlSource('http://models.test/', async (input) => {
    try {
      return new Response(readFileSync(join(dir, String(input).slice('http://models.test/'.length))));
    } catch {
      return new Response('not found', { status: 404 });
    }
  });

describe('format detection from a Node path', () => {
  it('a folder with config.json is Hugging Face, even with a .gguf beside it', async () => {
    expect((await loadModel(tinystories656k.dir)).format).toBe('safetensors');
  });
  it('a .gguf path is GGUF, with tokenizer.json from its folder and the raw metadata', async () => {
    const m = await loadModel(tinystories656k.gguf);
    expect(m.format).toBe('gguf');
    expect(m.tokenizer.kind).toBe('hf');
    expect(m.gguf?.metadata.get('general.architecture')).toBe('llama');
  });
  it('a folder holding a .bin and tok512.bin is llama2.c, tokenizer found beside it', async () => {
    const m = await loadModel(stories260K.dir);
    expect(m.format).toBe('llama2c');
    expect(m.tokenizer).toMatchObject({ kind: 'llama2c', vocabSize: 512 });
    if (m.tokenizer.kind === 'llama2c') expect(m.tokenizer.bytes.byteLength).toBe(readFileSync(stories260K.tokenizer).length);
  });
  it('a .bin path; an explicit tokenizerPath wins', async () => {
    expect((await loadModel(stories260K.bin)).tokenizer.kind).toBe('llama2c');
    const dir = scratchDir('d2o-l2c-');
    copyFileSync(stories260K.bin, join(dir, 'model.bin'));
    expect((await loadModel(join(dir, 'model.bin'))).tokenizer.kind).toBe('none');
    expect((await loadModel(join(dir, 'model.bin'), { tokenizerPath: stories260K.tokenizer })).tokenizer.kind).toBe('llama2c');
    await expectFormatErrorAsync(loadModel(join(dir, 'model.bin'), { tokenizerPath: join(dir, 'nope.bin') }), 'missing-file');
  });
  it('a .gguf whose bytes are not GGUF', async () => {
    const dir = scratchDir('d2o-gguf-');
    writeFileSync(join(dir, 'x.gguf'), 'not a gguf at all');
    await expectFormatErrorAsync(loadModel(join(dir, 'x.gguf')), 'bad-header');
  });
  it('a path that does not exist', async () => {
    await expectFormatErrorAsync(loadModel('/no/such/model.gguf'), 'missing-file');
  });
});

describe('other sources', () => {
  it('browser File objects of a Hugging Face folder', async () => {
    const names = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json'];
    const files = names.map((n) => new File([readFileSync(join(tinystories656k.dir, n))], n));
    const m = await loadModel(files);
    expect(m.config.vocabSize).toBe(2048);
    expect(m.tokenizer.kind).toBe('hf');
  });
  it('browser File objects of a llama2.c model and its tokenizer', async () => {
    const files = [stories260K.bin, stories260K.tokenizer].map((p) => new File([readFileSync(p)], basename(p)));
    expect((await loadModel(files)).tokenizer).toMatchObject({ kind: 'llama2c', vocabSize: 512 });
  });
  it('a URL folder (which cannot list) with config.json', async () => {
    const m = await loadModel(served(tinystories656k.dir));
    expect(m.format).toBe('safetensors');
    expect(m.generationConfig).not.toBeNull();
  });
  it('one file of a URL folder; llama2.c finds tok<vocab>.bin beside it, as on disk', async () => {
    expect((await loadModel({ source: served(tinystories656k.dir), file: 'tinystories-656k-q8_0.gguf' })).format).toBe('gguf');
    expect((await loadModel({ source: served(stories260K.dir), file: 'stories260K.bin' })).tokenizer).toMatchObject({ kind: 'llama2c', vocabSize: 512 });
    const dir = scratchDir('d2o-l2c-url-');
    copyFileSync(stories260K.bin, join(dir, 'model.bin'));
    expect((await loadModel({ source: served(dir), file: 'model.bin' })).tokenizer.kind).toBe('none');
  });
  it('a URL folder without config.json says so', async () => {
    await expectFormatErrorAsync(loadModel(served(stories260K.dir)), 'missing-file');
  });
  it('an empty file list', async () => {
    await expectFormatErrorAsync(loadModel(memoryFolder({})), 'missing-file');
  });
});

describe('progress and abort', () => {
  it.each([
    ['safetensors', tinystories656k.dir],
    ['gguf', tinystories656k.gguf],
    ['llama2c', stories260K.bin],
  ])('%s: monotone, ending with loaded = total', async (_, path) => {
    const events: LoadProgress[] = [];
    await loadModel(path, { onProgress: (p) => events.push(p) });
    expect(events.length).toBeGreaterThan(0);
    for (let i = 1; i < events.length; i++) expect(events[i].loaded).toBeGreaterThanOrEqual(events[i - 1].loaded);
    expect(events.at(-1)!.loaded).toBe(events.at(-1)!.total);
    expect(events.at(-1)!.total).toBeGreaterThan(0);
  });
  it('an aborted signal rejects with AbortError', async () => {
    const ac = new AbortController();
    ac.abort();
    for (const spec of [tinystories656k.dir, tinystories656k.gguf, stories260K.bin]) await expect(loadModel(spec, { signal: ac.signal })).rejects.toThrow(AbortError);
    await expect(loadModel(nodeDirSource(tinystories656k.dir), { signal: ac.signal })).rejects.toThrow(AbortError);
  });
});
