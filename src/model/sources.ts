/** Where model files come from: a URL base (or Hugging Face repo id), browser File objects, a Node folder. */
import { AbortError, LoadError, ModelFormatError } from '../errors';

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
  return new ModelFormatError('missing-file', `${file} not found in ${source}`, file);
}

function checkAbort(signal?: AbortSignal): void {
  if (signal?.aborted) throw new AbortError('loading aborted', { cause: signal.reason });
}

export function urlSource(baseUrl: string, fetchImpl: typeof fetch = (...a) => fetch(...a)): FileSource {
  const base = baseUrl.endsWith('/') ? baseUrl : baseUrl + '/';
  const sizes = new Map<string, number | null>();
  return {
    name: base,
    list: async () => [],
    async size(file) {
      if (!sizes.has(file)) {
        try {
          const r = await fetchImpl(base + file, { method: 'HEAD' });
          sizes.set(file, r.ok ? Number(r.headers.get('content-length') ?? 0) : null);
        } catch (e) {
          throw new LoadError(`cannot reach ${base + file}: ${(e as Error).message}`, { cause: e });
        }
      }
      return sizes.get(file)!;
    },
    async read(file, opts = {}) {
      checkAbort(opts.signal);
      let r: Response;
      try {
        r = await fetchImpl(base + file, { signal: opts.signal });
      } catch (e) {
        checkAbort(opts.signal);
        throw new LoadError(`cannot fetch ${base + file}: ${(e as Error).message}`, { cause: e });
      }
      if (r.status === 404) throw missing(base, file);
      if (!r.ok) throw new LoadError(`fetching ${base + file} failed: HTTP ${r.status}`);
      const total = Number(r.headers.get('content-length') ?? 0);
      if (!r.body) return new Uint8Array(await r.arrayBuffer());
      return readStream(r.body, total, opts);
    },
  };
}

/** Reads a stream into one buffer, preallocated when the length is known. */
async function readStream(body: ReadableStream<Uint8Array>, total: number, opts: ReadOptions): Promise<Uint8Array> {
  const reader = body.getReader();
  let buf = new Uint8Array(total || 1 << 20);
  let loaded = 0;
  try {
    for (;;) {
      checkAbort(opts.signal);
      const { done, value } = await reader.read();
      if (done) break;
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
  return loaded === buf.length ? buf : buf.subarray(0, loaded);
}

/** A Hugging Face Hub repository, e.g. "raincandy-u/TinyStories-656K". */
export function hfRepoSource(repoId: string, revision = 'main'): FileSource {
  return urlSource(`https://huggingface.co/${repoId}/resolve/${revision}/`);
}

/** Files picked in the browser (an <input type=file multiple> or a folder with webkitdirectory). */
export function fileListSource(files: readonly File[]): FileSource {
  const byName = new Map<string, File>();
  for (const f of files) byName.set(f.name, f);
  return {
    name: 'local files',
    list: async () => [...byName.keys()],
    size: async (file) => byName.get(file)?.size ?? null,
    async read(file, opts = {}) {
      const f = byName.get(file);
      if (!f) throw missing('the selected files', file);
      checkAbort(opts.signal);
      return readStream(f.stream(), f.size, opts);
    },
  };
}

/** A folder on disk (Node only; fs is imported lazily so browser bundles never see it). */
export function nodeDirSource(dir: string): FileSource {
  const fs = () => import('node:fs/promises');
  const path = (file: string) => (dir.endsWith('/') ? dir : dir + '/') + file;
  return {
    name: dir,
    list: async () => (await fs()).readdir(dir),
    async size(file) {
      try {
        return (await (await fs()).stat(path(file))).size;
      } catch {
        return null;
      }
    },
    async read(file, opts = {}) {
      checkAbort(opts.signal);
      const { open } = await fs();
      let handle;
      try {
        handle = await open(path(file), 'r');
      } catch {
        throw missing(dir, file);
      }
      try {
        const { size } = await handle.stat();
        const buf = new Uint8Array(size);
        const chunk = 16 << 20;
        for (let off = 0; off < size; off += chunk) {
          checkAbort(opts.signal);
          await handle.read(buf, off, Math.min(chunk, size - off), off);
          opts.onProgress?.(Math.min(off + chunk, size), size);
        }
        if (size === 0) opts.onProgress?.(0, 0);
        return buf;
      } finally {
        await handle.close();
      }
    },
  };
}
