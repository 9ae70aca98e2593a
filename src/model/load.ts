/**
 * One entry point for every model source and format, in the spirit of transformers.js'
 * `from_pretrained`: a Hugging Face repo id, a URL, browser `File`s, a FileSource, or (Node) a path.
 */
import { ModelFormatError } from '../errors';
import { loadHf, readHfTokenizer } from './hf';
import { parseGguf, type GgufFile } from './gguf';
import { parseLlama2c } from './llama2c';
import { isNode, nodeDirSource, readFiles, resolveSource, type FileSource, type SourceSpec } from './sources';
import type { ModelDescription, ProgressCallback, TokenizerSource } from './types';

export interface LoadOptions {
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
  /** llama2.c: the tokenizer .bin when it is not beside the model (a Node path, or a file of the source). */
  tokenizerPath?: string;
  /** URLs and Hugging Face repos: keep the files in the browser's Cache API (default true). */
  cache?: boolean;
}

/** `{ source, file }` names one checkpoint file of a source that cannot list (a URL folder). */
export type ModelSpec = SourceSpec | { source: FileSource; file?: string };

/** GGUF loads also carry the file's raw metadata and tensor table. */
export type LoadedModel = ModelDescription & { gguf?: GgufFile };

async function readLlama2cTokenizer(source: FileSource, explicit: string | undefined, signal?: AbortSignal): Promise<TokenizerSource> {
  if (explicit) {
    const slash = explicit.lastIndexOf('/');
    const src = isNode() ? nodeDirSource(explicit.slice(0, slash + 1) || './') : source;
    return { kind: 'llama2c', bytes: await src.read(explicit.slice(slash + 1), { signal }), vocabSize: 0 };
  }
  // Beside the model: tokenizer.bin, else a tok*.bin (tok512.bin); a source that cannot list gets tokenizer.bin tried.
  const names = await source.list();
  const candidate = names.length ? ['tokenizer.bin', ...names.filter((n) => /^tok.*\.bin$/i.test(n)).sort()].find((n) => names.includes(n)) : 'tokenizer.bin';
  if (!candidate) return { kind: 'none' };
  try {
    return { kind: 'llama2c', bytes: await source.read(candidate, { signal }), vocabSize: 0 };
  } catch (e) {
    if (e instanceof ModelFormatError && e.problem === 'missing-file') return { kind: 'none' };
    throw e;
  }
}

/** In a folder without config.json, the single-file checkpoint: a .gguf, else a non-tokenizer .bin. */
async function mainFile(source: FileSource): Promise<string | undefined> {
  const names = await source.list();
  if (names.length === 0 || names.includes('config.json')) return undefined;
  return names.find((n) => /\.gguf$/i.test(n)) ?? names.find((n) => /\.bin$/i.test(n) && !/^tok/i.test(n));
}

/**
 * Detects the format: a folder with config.json is Hugging Face safetensors; a file starting with
 * the magic "GGUF" is GGUF; another .bin is a llama2.c checkpoint.
 */
export async function loadModel(spec: ModelSpec, opts: LoadOptions = {}): Promise<LoadedModel> {
  const { source, file: named } = typeof spec === 'object' && 'source' in spec ? spec : await resolveSource(spec, { cache: opts.cache });
  const file = named ?? (await mainFile(source));
  if (!file) return loadHf(source, opts);

  const [bytes] = await readFiles(source, [file], opts);
  const magic = new TextDecoder().decode(bytes.subarray(0, 4));
  if (magic === 'GGUF') return parseGguf(bytes, await readHfTokenizer(source, opts.signal), file);
  if (/\.gguf$/i.test(file)) throw new ModelFormatError('bad-header', 'not a GGUF file (magic bytes differ)', file);
  return parseLlama2c(bytes, await readLlama2cTokenizer(source, opts.tokenizerPath, opts.signal), file);
}
