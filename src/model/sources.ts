/** Where model files come from: a URL base (or Hugging Face repo id), browser File objects, a Node folder. */
import { AbortError, LoadError, ModelFormatError } from '../errors';
import type { ProgressCallback } from './types';
import { cachedFetch } from './http-cache';

export interface ReadOptions {
  onProgress?: (loaded: number, total: number) => void;
  signal?: AbortSignal;
}

export interface FileSource {
  readonly name: string;
  /** Files known to exist (empty when the source cannot list, e.g. a plain URL). */
  list(): Promise<string[]>;
  /** Byte size, or null when the file does not exist. */
  size(file: string): Promise<number | null>;
  /** The whole file in one buffer (never held twice). Throws ModelFormatError('missing-file'). */
  read(file: string, opts?: ReadOptions): Promise<Uint8Array>;
}

function missing(source: string, file: string): ModelFormatError {
  return new ModelFormatError('missing-file', `not found in ${source}`, file);
}

function checkAbort(signal?: AbortSignal): void {
  if (signal?.aborted) throw new AbortError('loading aborted', { cause: signal.reason });
}

/** A failed read is an abort when the signal says so, else a LoadError. */
function readFailure(e: unknown, what: string, signal?: AbortSignal): never {
  checkAbort(signal);
  if (e instanceof AbortError || e instanceof ModelFormatError) throw e;
  throw new LoadError(`${what}: ${(e as Error).message}`, { cause: e });
}

export function urlSource(baseUrl: string, fetchImpl: typeof fetch = (...a) => fetch(...a)): FileSource {
  const base = baseUrl.endsWith('/') ? baseUrl : baseUrl + '/';
  const sizes = new Map<string, number | null>();
  return {
    name: base,
    list: async () => [],
    async size(file) {
      if (!sizes.has(file)) {
        let r: Response;
        try {
          r = await fetchImpl(base + file, { method: 'HEAD' });
        } catch (e) {
          readFailure(e, `cannot reach ${base + file}`);
        }
        if (!r.ok && r.status !== 404) throw new LoadError(`HEAD ${base + file} failed: HTTP ${r.status}`);
        // A server that omits content-length still says the file exists: size 0 = unknown.
        sizes.set(file, r.ok ? Number(r.headers.get('content-length') ?? 0) : null);
      }
      return sizes.get(file)!;
    },
    async read(file, opts = {}) {
      checkAbort(opts.signal);
      let r: Response;
      try {
        r = await fetchImpl(base + file, { signal: opts.signal });
      } catch (e) {
        readFailure(e, `cannot fetch ${base + file}`, opts.signal);
      }
      if (r.status === 404) throw missing(base, file);
      if (!r.ok) throw new LoadError(`fetching ${base + file} failed: HTTP ${r.status}`);
      const total = Number(r.headers.get('content-length') ?? 0);
      if (!r.body) return new Uint8Array(await r.arrayBuffer());
      return readStream(r.body, total, opts, base + file);
    },
  };
}

/** Reads a stream into one buffer, preallocated when the length is known so the file is never held twice. */
async function readStream(body: ReadableStream<Uint8Array>, total: number, opts: ReadOptions, what: string): Promise<Uint8Array> {
  const reader = body.getReader();
  let buf = new Uint8Array(total || 1 << 20);
  let loaded = 0;
  try {
    for (;;) {
      checkAbort(opts.signal);
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (e) {
        readFailure(e, `reading ${what} failed after ${loaded} bytes`, opts.signal);
      }
      if (chunk.done) break;
      const value = chunk.value;
      // Only an unknown (or wrong, e.g. compressed) length makes the buffer grow.
      if (loaded + value.length > buf.length) {
        const bigger = new Uint8Array(Math.max(buf.length * 2, loaded + value.length));
        bigger.set(buf.subarray(0, loaded));
        buf = bigger;
      }
      buf.set(value, loaded);
      loaded += value.length;
      opts.onProgress?.(loaded, Math.max(total, loaded));
    }
  } finally {
    reader.releaseLock();
  }
  if (loaded === 0) opts.onProgress?.(0, 0);
  return loaded === buf.length ? buf : buf.subarray(0, loaded);
}

/** A Hugging Face Hub repository, e.g. "raincandy-u/TinyStories-656K". */
export function hfRepoSource(repoId: string, revision = 'main', fetchImpl?: typeof fetch): FileSource {
  return urlSource(`https://huggingface.co/${repoId}/resolve/${revision}/`, fetchImpl);
}

/**
 * Files picked in the browser: an <input type=file multiple>, or a folder picked with webkitdirectory,
 * whose files carry "folder/sub/name" in webkitRelativePath; names are taken relative to that folder.
 */
export function fileListSource(files: readonly File[]): FileSource {
  const byName = new Map<string, File>();
  for (const f of files) byName.set(f.webkitRelativePath ? f.webkitRelativePath.replace(/^[^/]*\//, '') : f.name, f);
  return {
    name: 'the selected files',
    list: async () => [...byName.keys()],
    size: async (file) => byName.get(file)?.size ?? null,
    async read(file, opts = {}) {
      const f = byName.get(file);
      if (!f) throw missing('the selected files', file);
      checkAbort(opts.signal);
      return readStream(f.stream(), f.size, opts, file);
    },
  };
}

/**
 * A folder on disk (Node only). Only regular files directly in it or below it are read: a name that
 * climbs out (`../x`, an absolute path) is missing, and a folder, FIFO or device is 'not-a-file'
 * (opened without blocking, so a FIFO never hangs the load).
 */
export function nodeDirSource(dir: string): FileSource {
  const fs = nodeFs;
  const path = (file: string) => (dir.endsWith('/') ? dir : dir + '/') + file;
  const outside = (file: string) => file.startsWith('/') || file.split(/[/\\]/).includes('..') || file.includes('\0');
  return {
    name: dir,
    list: async () => (await fs()).readdir(dir),
    async size(file) {
      if (outside(file)) return null;
      const st = await (await fs()).stat(path(file)).catch(() => null);
      return st?.isFile() ? st.size : null;
    },
    async read(file, opts = {}) {
      checkAbort(opts.signal);
      if (outside(file)) throw missing(dir, file);
      const { open, constants } = await fs();
      const handle = await open(path(file), constants.O_RDONLY | constants.O_NONBLOCK).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT' || e.code === 'ENOTDIR') throw missing(dir, file);
        readFailure(e, `cannot open ${path(file)}`);
      });
      try {
        const st = await handle.stat();
        if (!st.isFile()) throw new ModelFormatError('not-a-file', `is ${st.isDirectory() ? 'a folder' : 'not a regular file'}, where a file was expected`, path(file));
        const size = st.size;
        const buf = new Uint8Array(size);
        for (let off = 0; off < size; ) {
          checkAbort(opts.signal);
          const { bytesRead } = await handle.read(buf, off, Math.min(16 << 20, size - off), off);
          if (bytesRead === 0) throw new LoadError(`${path(file)} shrank while being read`);
          off += bytesRead;
          opts.onProgress?.(off, size);
        }
        if (size === 0) opts.onProgress?.(0, 0);
        return buf;
      } finally {
        await handle.close();
      }
    },
  };
}

export type SourceSpec = string | readonly File[] | FileSource;

/**
 * Picks the source for a spec: a FileSource as is, browser Files, an existing Node path (a folder,
 * or a single file and the folder around it), a URL, or a Hugging Face repo id "owner/name".
 * `file` is set when the spec names one checkpoint file (.gguf or .bin) rather than a folder.
 */
export async function resolveSource(spec: SourceSpec, o: { cache?: boolean } = {}): Promise<{ source: FileSource; file?: string }> {
  if (typeof spec !== 'string') return Array.isArray(spec) ? { source: fileListSource(spec) } : { source: spec as FileSource };
  const single = /\.(gguf|bin)$/i.test(spec) ? spec.slice(spec.lastIndexOf('/') + 1) : undefined;
  const folder = single ? spec.slice(0, spec.length - single.length) || './' : spec;
  const fetchImpl = o.cache === false ? undefined : cachedFetch();
  if (/^https?:\/\//.test(spec)) return { source: urlSource(folder, fetchImpl), file: single };
  if (isNode()) {
    const st = await (await nodeFs()).stat(spec).catch(() => null);
    if (st && (st.isDirectory() || single)) return { source: nodeDirSource(folder), file: single };
    // A file of a Hugging Face folder (config.json, model.safetensors): the folder is meant.
    if (st?.isFile() && /(^|\/)(config\.json|[^/]*\.safetensors(\.index\.json)?)$/i.test(spec)) return { source: nodeDirSource(spec.slice(0, spec.lastIndexOf('/') + 1) || './') };
    if (st) throw new ModelFormatError('not-a-file', 'is not a model: pass its folder, or a .gguf or llama2.c .bin file', spec);
  }
  if (/^[\w.-]+\/[\w.-]+$/.test(spec)) return { source: hfRepoSource(spec, 'main', fetchImpl) };
  throw new ModelFormatError('missing-file', `no model at ${spec} (expected a folder, a .gguf or .bin file, a URL or a Hugging Face repo id)`);
}

/** node:fs/promises from Node itself, never an import: browser bundles and dev servers never see one. */
function nodeFs(): Promise<typeof import('node:fs/promises')> {
  return Promise.resolve(process.getBuiltinModule('node:fs/promises') as typeof import('node:fs/promises'));
}

export function isNode(): boolean {
  return typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';
}

/**
 * Reads several files in turn, reporting progress in bytes over all of them; ends with loaded = total.
 * Sizes are asked first so the total is known from the start (an unknown size only grows it).
 */
export async function readFiles(source: FileSource, files: string[], opts: { onProgress?: ProgressCallback; signal?: AbortSignal } = {}): Promise<Uint8Array[]> {
  const sizes = opts.onProgress ? await Promise.all(files.map((f) => source.size(f))) : [];
  let total = sizes.reduce<number>((s, x) => s + (x ?? 0), 0);
  let done = 0;
  const out: Uint8Array[] = [];
  for (const file of files) {
    const bytes = await source.read(file, {
      signal: opts.signal,
      onProgress: (loaded) => {
        total = Math.max(total, done + loaded);
        opts.onProgress?.({ file, loaded: done + loaded, total });
      },
    });
    done += bytes.byteLength;
    out.push(bytes);
  }
  opts.onProgress?.({ file: files.at(-1) ?? '', loaded: done, total: done });
  return out;
}
