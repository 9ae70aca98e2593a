/**
 * One entry point for every model source and format, in the spirit of transformers.js'
 * `from_pretrained`: a Hugging Face repo id, a URL, browser `File`s, a FileSource, or (Node) a path.
 */
import { ModelFormatError } from '../errors';
import { loadHf, readGenerationConfig, readHfTokenizer } from './hf';
import { parseGguf, type GgufFile } from './gguf';
import { cacheWritesSettled } from './http-cache';
import { parseLlama2c } from './llama2c';
import { isNode, nodeDirSource, readFiles, resolveSource, type FileSource, type SourceOptions, type SourceSpec } from './sources';
import type { ModelDescription, ProgressCallback, TokenizerSource } from './types';

export interface LoadOptions extends SourceOptions {
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
  /** llama2.c: the tokenizer .bin when it is not found beside the model: a path (Node), a URL, or in a page a file name beside the model. */
  tokenizerPath?: string;
}

/** `{ source, file }` names one checkpoint file of a source that cannot list (a URL folder). */
export type ModelSpec = SourceSpec | { source: FileSource; file?: string };

/** GGUF loads also carry the file's raw metadata and tensor table. */
export type LoadedModel = ModelDescription & { gguf?: GgufFile };

/**
 * llama2.c's tokenizer: `tokenizerPath` when given, else beside the model: tokenizer.bin, or
 * tok<vocab>.bin as llama2.c names the tokenizers of its smaller vocabularies (tok512.bin). A source
 * that cannot list (a URL folder) is asked for the likelier name first, so a served folder holding
 * only tok512.bin costs no failed request.
 */
async function readLlama2cTokenizer(source: FileSource, checkpoint: Uint8Array, o: LoadOptions): Promise<TokenizerSource> {
  if (o.tokenizerPath) {
    // A path in Node; a URL (relative ones against the page); in a page a bare file name is beside the model.
    const p = o.tokenizerPath;
    const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(p);
    const slash = p.lastIndexOf('/');
    const { source: src, file } =
      isNode() && !url
        ? { source: nodeDirSource(p.slice(0, slash + 1) || './'), file: p.slice(slash + 1) }
        : !url && !p.includes('/')
          ? { source, file: p }
          : await resolveSource(p, o);
    return { kind: 'llama2c', bytes: await src.read(file ?? p, { signal: o.signal }), vocabSize: 0 };
  }
  const vocab = checkpoint.byteLength >= 28 ? Math.abs(new DataView(checkpoint.buffer, checkpoint.byteOffset).getInt32(20, true)) : 0;
  const sized = `tok${vocab}.bin`;
  const names = await source.list();
  const candidates = names.length
    ? ['tokenizer.bin', ...names.filter((n) => /^tok.*\.bin$/i.test(n)).sort()].filter((n) => names.includes(n))
    : vocab === 32000 ? ['tokenizer.bin', sized] : [sized, 'tokenizer.bin'];
  for (const candidate of candidates) {
    if (!names.length && (await source.size(candidate)) === null) continue;
    return { kind: 'llama2c', bytes: await source.read(candidate, { signal: o.signal }), vocabSize: 0 };
  }
  return { kind: 'none' };
}

/** In a folder without config.json, the single-file checkpoint: a .gguf, else a non-tokenizer .bin. */
async function mainFile(source: FileSource): Promise<string | undefined> {
  const names = await source.list();
  if (names.length === 0 || names.includes('config.json')) return undefined;
  return names.find((n) => /\.gguf$/i.test(n)) ?? names.find((n) => /\.bin$/i.test(n) && !/^tok/i.test(n));
}

/**
 * Detects the format: a folder with config.json is Hugging Face safetensors; a file starting with
 * the magic "GGUF" is GGUF; another .bin is a llama2.c checkpoint. In a browser it resolves once the
 * downloaded files are in the Cache API, so a reload right after it downloads nothing.
 */
export async function loadModel(spec: ModelSpec, opts: LoadOptions = {}): Promise<LoadedModel> {
  const model = await loadFrom(spec, opts);
  await cacheWritesSettled();
  return model;
}

async function loadFrom(spec: ModelSpec, opts: LoadOptions): Promise<LoadedModel> {
  const { source, file: named } = typeof spec === 'object' && 'source' in spec ? spec : await resolveSource(spec, opts);
  const file = named ?? (await mainFile(source));
  if (!file) return loadHf(source, opts);

  const [bytes] = await readFiles(source, [file], opts);
  const magic = new TextDecoder().decode(bytes.subarray(0, 4));
  if (magic === 'GGUF') {
    // A generation_config.json beside the file gives its sampling defaults (GGUF metadata has none).
    const generationConfig = await readGenerationConfig(source, opts.signal);
    return { ...parseGguf(bytes, await readHfTokenizer(source, opts.signal), file), generationConfig };
  }
  if (/\.gguf$/i.test(file)) throw new ModelFormatError('bad-header', 'not a GGUF file (magic bytes differ)', file);
  return parseLlama2c(bytes, await readLlama2cTokenizer(source, bytes, opts), file);
}
