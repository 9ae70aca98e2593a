/**
 * One entry point for every model source and format, in the spirit of transformers.js'
 * `from_pretrained`: a Hugging Face repo id, a URL, browser `File`s, or (Node) a path.
 */
import { ModelFormatError } from '../errors';
import { loadHf } from './hf';
import { parseGguf } from './gguf';
import { parseLlama2c } from './llama2c';
import { fileListSource, hfRepoSource, nodeDirSource, urlSource, type FileSource } from './sources';
import type { ModelDescription, ProgressCallback, TokenizerSource } from './types';

export interface LoadOptions {
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
  /** llama2.c: the tokenizer .bin when it is not beside the model. */
  tokenizerPath?: string;
}

export type ModelSpec = string | readonly File[] | { source: FileSource; file?: string };

const isNode = typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';

/** Splits a spec into a folder-like source and, for single-file formats, the file in it. */
async function resolve(spec: ModelSpec): Promise<{ source: FileSource; file?: string }> {
  if (typeof spec !== 'string') {
    if ('source' in spec) return spec;
    return { source: fileListSource(spec as readonly File[]) };
  }
  const single = /\.(gguf|bin)$/i.test(spec) ? spec.slice(spec.lastIndexOf('/') + 1) : undefined;
  const folder = single ? spec.slice(0, spec.length - single.length) || './' : spec;
  if (/^https?:\/\//.test(spec)) return { source: urlSource(folder), file: single };
  if (isNode) {
    const { stat } = await import('node:fs/promises');
    const exists = await stat(spec).then(() => true, () => false);
    if (exists) return { source: nodeDirSource(folder), file: single };
  }
  if (/^[\w.-]+\/[\w.-]+$/.test(spec)) return { source: hfRepoSource(spec) };
  throw new ModelFormatError('missing-file', `no model at ${spec} (expected a folder, a .gguf or .bin file, a URL or a Hugging Face repo id)`);
}

async function readTokenizerJson(source: FileSource): Promise<TokenizerSource> {
  if ((await source.size('tokenizer.json').catch(() => null)) === null) return { kind: 'none' };
  const json = (f: string) => source.read(f).then((b) => JSON.parse(new TextDecoder().decode(b)));
  const tokenizerConfig = await json('tokenizer_config.json').catch(() => null);
  return { kind: 'hf', tokenizerJson: await json('tokenizer.json'), tokenizerConfig };
}

async function readLlama2cTokenizer(source: FileSource, vocabHint: string | undefined, explicit?: string): Promise<TokenizerSource> {
  if (explicit) {
    const slash = explicit.lastIndexOf('/');
    const src = isNode ? nodeDirSource(explicit.slice(0, slash + 1) || './') : source;
    return { kind: 'llama2c', bytes: await src.read(explicit.slice(slash + 1)), vocabSize: 0 };
  }
  const names = await source.list();
  const candidate = ['tokenizer.bin', ...names.filter((n) => /^tok.*\.bin$/i.test(n)).sort()].find((n) => names.length === 0 || names.includes(n));
  if (!candidate) return { kind: 'none' };
  try {
    return { kind: 'llama2c', bytes: await source.read(candidate), vocabSize: 0 };
  } catch (e) {
    if (e instanceof ModelFormatError && e.problem === 'missing-file' && vocabHint === undefined) return { kind: 'none' };
    throw e;
  }
}

/** In a folder without config.json, the single-file checkpoint: a .gguf, else a non-tokenizer .bin. */
async function mainFile(source: FileSource): Promise<string | undefined> {
  const names = await source.list();
  if (names.length === 0 || names.includes('config.json')) return undefined;
  return names.find((n) => /\.gguf$/i.test(n)) ?? names.find((n) => /\.bin$/i.test(n) && !/^tok/i.test(n));
}

export async function loadModel(spec: ModelSpec, opts: LoadOptions = {}): Promise<ModelDescription> {
  const resolved = await resolve(spec);
  const source = resolved.source;
  const file = resolved.file ?? (await mainFile(source));
  const progress = (f: string) => (loaded: number, total: number) => opts.onProgress?.({ file: f, loaded, total });
  if (!file) return loadHf(source, opts);

  const bytes = await source.read(file, { onProgress: progress(file), signal: opts.signal });
  const magic = bytes.byteLength >= 4 ? new TextDecoder().decode(bytes.subarray(0, 4)) : '';
  if (magic === 'GGUF' || /\.gguf$/i.test(file)) return parseGguf(bytes, await readTokenizerJson(source), file);
  const model = parseLlama2c(bytes, await readLlama2cTokenizer(source, undefined, opts.tokenizerPath), file);
  if (model.tokenizer.kind === 'llama2c') model.tokenizer.vocabSize = model.config.vocabSize;
  return model;
}
