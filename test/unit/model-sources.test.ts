/** File sources: streamed reads into one buffer with progress, and typed errors for missing files, failures, aborts. */
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AbortError, LoadError } from '../../src/errors';
import { fileListSource, hfRepoSource, nodeDirSource, readFiles, resolveSource, urlSource } from '../../src/model/sources';
import type { LoadProgress } from '../../src/model/types';
import { expectFormatErrorAsync } from '../fixtures/model-builders';
import { scratchDir } from '../helpers/scratch';

/** A response whose body arrives in `chunks`, with or without a content-length. */
function chunked(chunks: Uint8Array[], opts: { length?: boolean; failAfter?: number } = {}): Response {
  let i = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (opts.failAfter !== undefined && i === opts.failAfter) return c.error(new TypeError('connection reset'));
      if (i < chunks.length) c.enqueue(chunks[i++]);
      else c.close();
    },
  });
  const total = chunks.reduce((s, c) => s + c.length, 0);
  return new Response(body, { headers: opts.length === false ? {} : { 'content-length': String(total) } });
}
const parts = (n: number, size: number) => Array.from({ length: n }, (_, k) => new Uint8Array(size).fill(k + 1));

describe('urlSource', () => {
  it('streams into one preallocated buffer, reporting monotone progress up to the total', async () => {
    const seen: [number, number][] = [];
    const src = urlSource('http://models.test/m', async () => chunked(parts(4, 1000)));
    const bytes = await src.read('model.bin', { onProgress: (l, t) => seen.push([l, t]) });
    expect(bytes.byteLength).toBe(4000);
    expect(bytes.buffer.byteLength).toBe(4000); // no slack: the content-length buffer itself
    expect(bytes[3999]).toBe(4);
    expect(seen).toEqual([[1000, 4000], [2000, 4000], [3000, 4000], [4000, 4000]]);
  });
  it('without a content-length the buffer grows, and the total follows the bytes seen', async () => {
    const seen: number[] = [];
    const bytes = await urlSource('http://models.test/', async () => chunked(parts(3, 700_000), { length: false })).read('x', { onProgress: (l, t) => seen.push(t - l) });
    expect(bytes.byteLength).toBe(2_100_000);
    expect(bytes[2_099_999]).toBe(3);
    expect(seen.every((d) => d === 0)).toBe(true);
  });
  it('joins the base and file names, with or without a trailing slash', async () => {
    const urls: string[] = [];
    const fake = async (u: RequestInfo | URL) => (urls.push(String(u)), chunked([]));
    await urlSource('http://models.test/a', fake).read('b.json');
    await urlSource('http://models.test/a/', fake).read('c.json');
    expect(urls).toEqual(['http://models.test/a/b.json', 'http://models.test/a/c.json']);
    expect(hfRepoSource('owner/name').name).toBe('https://huggingface.co/owner/name/resolve/main/');
    expect(hfRepoSource('owner/name', { revision: 'v1' }).name).toBe('https://huggingface.co/owner/name/resolve/v1/');
    expect(hfRepoSource('owner/name', { endpoint: 'http://mirror.test/hf/' }).name).toBe('http://mirror.test/hf/owner/name/resolve/main/');
  });
  it('404 is a missing file; size() says null', async () => {
    const src = urlSource('http://models.test/', async () => new Response('no', { status: 404 }));
    await expectFormatErrorAsync(src.read('config.json'), 'missing-file');
    expect(await src.size('config.json')).toBeNull();
  });
  it('an HTML page where a model file was expected is a missing file that says so (content-type or content); size() says null', async () => {
    const page = '<!doctype html><html><body>app</body></html>';
    const typed = urlSource('http://models.test/', async () => new Response(page, { headers: { 'content-type': 'text/html; charset=utf-8' } }));
    const e = await typed.read('model.safetensors.index.json').catch((x: unknown) => x);
    expect(e).toMatchObject({ name: 'ModelFormatError', problem: 'missing-file' });
    expect((e as Error).message).toMatch(/answered http:\/\/models.test\/model.safetensors.index.json with an HTML page, not the file/);
    expect(await typed.size('config.json')).toBeNull();
    const untyped = urlSource('http://models.test/', async () => new Response(`  \n${page}`, { headers: { 'content-type': 'application/octet-stream' } }));
    await expectFormatErrorAsync(untyped.read('config.json'), 'missing-file');
  });
  it('HEAD gives the size', async () => {
    const src = urlSource('http://models.test/', async (_u, init) => (expect(init?.method).toBe('HEAD'), new Response(null, { headers: { 'content-length': '1234' } })));
    expect(await src.size('model.safetensors')).toBe(1234);
  });
  it('HTTP errors, network failures and a stream cut mid-way are LoadErrors', async () => {
    await expect(urlSource('http://models.test/', async () => new Response('', { status: 500 })).read('x')).rejects.toThrow(LoadError);
    await expect(urlSource('http://models.test/', async () => Promise.reject(new TypeError('fetch failed'))).read('x')).rejects.toThrow(LoadError);
    await expect(urlSource('http://models.test/', async () => Promise.reject(new TypeError('fetch failed'))).size('x')).rejects.toThrow(LoadError);
    await expect(urlSource('http://models.test/', async () => chunked(parts(3, 10), { failAfter: 1 })).read('x')).rejects.toThrow(LoadError);
  });
  it('an aborted signal is an AbortError, before the request or mid-stream', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(urlSource('http://models.test/', async () => chunked(parts(2, 10))).read('x', { signal: ac.signal })).rejects.toThrow(AbortError);
    const mid = new AbortController();
    const read = urlSource('http://models.test/', async () => chunked(parts(5, 10))).read('x', { signal: mid.signal, onProgress: (l) => l >= 20 && mid.abort() });
    await expect(read).rejects.toThrow(AbortError);
  });
});

describe('fileListSource', () => {
  it('names files relative to a picked folder (webkitRelativePath), else by name', async () => {
    const inFolder = new File(['{}'], 'config.json');
    Object.defineProperty(inFolder, 'webkitRelativePath', { value: 'my-model/config.json' });
    const nested = new File(['x'], 'a.bin');
    Object.defineProperty(nested, 'webkitRelativePath', { value: 'my-model/sub/a.bin' });
    const src = fileListSource([inFolder, nested, new File(['abc'], 'tok.bin')]);
    expect((await src.list()).sort()).toEqual(['config.json', 'sub/a.bin', 'tok.bin']);
    expect(await src.size('tok.bin')).toBe(3);
    expect(await src.size('nope')).toBeNull();
    expect(new TextDecoder().decode(await src.read('config.json'))).toBe('{}');
    await expectFormatErrorAsync(src.read('nope'), 'missing-file');
  });
});

describe('nodeDirSource', () => {
  const dir = scratchDir('d2o-src-');
  writeFileSync(join(dir, 'a.bin'), new Uint8Array(100).fill(9));
  writeFileSync(join(dir, 'empty.bin'), new Uint8Array(0));
  mkdirSync(join(dir, 'sub'));
  it('reads whole files, lists, sizes; folders and absent files have no size', async () => {
    const src = nodeDirSource(dir);
    const seen: number[] = [];
    expect((await src.read('a.bin', { onProgress: (l) => seen.push(l) }))[99]).toBe(9);
    expect(seen.at(-1)).toBe(100);
    expect((await src.read('empty.bin')).byteLength).toBe(0);
    expect((await src.list()).sort()).toEqual(['a.bin', 'empty.bin', 'sub']);
    expect(await src.size('a.bin')).toBe(100);
    expect(await src.size('sub')).toBeNull();
    expect(await src.size('missing.bin')).toBeNull();
    await expectFormatErrorAsync(src.read('missing.bin'), 'missing-file');
  });
  it('honours an aborted signal', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(nodeDirSource(dir).read('a.bin', { signal: ac.signal })).rejects.toThrow(AbortError);
  });
  it('readFiles: progress over several files, ending at the total', async () => {
    const events: LoadProgress[] = [];
    const [a, e] = await readFiles(nodeDirSource(dir), ['a.bin', 'empty.bin'], { onProgress: (p) => events.push(p) });
    expect([a.byteLength, e.byteLength]).toEqual([100, 0]);
    expect(events.at(-1)).toMatchObject({ loaded: 100, total: 100 });
    expect(events.every((p) => p.total === 100)).toBe(true);
  });
});

describe('resolveSource', () => {
  const dir = scratchDir('d2o-resolve-');
  writeFileSync(join(dir, 'model.gguf'), 'GGUF');
  it('an existing folder, or a file and the folder around it', async () => {
    expect(await resolveSource(dir)).toMatchObject({ source: { name: dir } });
    expect((await resolveSource(dir)).file).toBeUndefined();
    const single = await resolveSource(join(dir, 'model.gguf'));
    expect(single.file).toBe('model.gguf');
    expect(await single.source.size('model.gguf')).toBe(4);
  });
  it('URLs, repo ids, File lists and sources', async () => {
    expect(await resolveSource('https://example.test/models/x.gguf')).toMatchObject({ source: { name: 'https://example.test/models/' }, file: 'x.gguf' });
    expect((await resolveSource('http://example.test/models/folder')).source.name).toBe('http://example.test/models/folder/');
    expect((await resolveSource('raincandy-u/TinyStories-656K')).source.name).toMatch(/^https:\/\/huggingface.co\/raincandy-u\/TinyStories-656K\/resolve\/main\/ /);
    expect((await resolveSource([new File(['x'], 'config.json')])).source.name).toBe('the selected files');
    const src = nodeDirSource(dir);
    expect((await resolveSource(src)).source).toBe(src);
  });
  it('a path that exists nowhere', async () => {
    await expectFormatErrorAsync(resolveSource('/no/such/dir/model.bin'), 'missing-file');
  });
  it('a URL or path naming a Hugging Face file stands for its folder', async () => {
    expect(await resolveSource('https://example.test/m/model.safetensors')).toMatchObject({ source: { name: 'https://example.test/m/' }, file: undefined });
    expect((await resolveSource('https://example.test/m/config.json')).source.name).toBe('https://example.test/m/');
    expect((await resolveSource(join(dir, 'model.gguf'))).file).toBe('model.gguf');
  });
  it('in Node a path that starts with . or / never goes to the hub; owner/name does when nothing is there', async () => {
    const e = await resolveSource('./no-such-model').catch((x: unknown) => x);
    expect((e as Error).message).toMatch(/no model at .\/no-such-model: no such file or folder/);
    await expectFormatErrorAsync(resolveSource('models/x/y'), 'missing-file');
    expect((await resolveSource('owner/model-name')).source.name).toMatch(/owner\/model-name\/resolve\/main\/ \(owner\/model-name taken as a Hugging Face repo id/);
    expect((await resolveSource('owner/name', { revision: 'abc', hfEndpoint: 'http://mirror.test' })).source.name).toMatch(/^http:\/\/mirror.test\/owner\/name\/resolve\/abc\//);
  });
});
