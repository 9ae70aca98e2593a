/** Where model files come from: a URL base (or Hugging Face repo id), browser File objects, a Node folder. */
import { AbortError, GatedModelError, LoadError, ModelFormatError } from '../errors';
import type { ProgressCallback } from './types';
import { cachedFetch } from './http-cache';

/** How string specs find their files (loadModel, createEngine). */
export interface SourceOptions {
  /** URLs and Hugging Face repos: keep the files in the browser's Cache API (default true). */
  cache?: boolean;
  /** Where relative and root-relative URLs resolve (default: the page's address). */
  baseUrl?: string;
  /** Hugging Face access token (gated or private repos), sent as `Authorization: Bearer` to `hfEndpoint` only. */
  hfToken?: string;
  /** Where repo ids are fetched from: the public hub by default, or a mirror / self-hosted copy laid out as the hub (`/{repo}/resolve/{revision}/{file}`). */
  hfEndpoint?: string;
  /** Branch, tag or commit of a repo id (default 'main'). A commit hash is immutable: cached files are then never revalidated. */
  revision?: string;
}

export const HF_ENDPOINT = 'https://huggingface.co';

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

export interface UrlSourceOptions {
  /** The error for a 401/403 answer (default: a LoadError). */
  denied?: (status: number, url: string) => Error;
  /** The source's name in messages (default: the base URL). */
  name?: string;
}

/**
 * A folder served over HTTP. A 404 is a missing file; so is an HTML page where a model file was
 * expected (servers that answer unknown paths with their index.html, as single-page-app hosts and
 * Vite do), with a message that says so.
 */
export function urlSource(baseUrl: string, fetchImpl: typeof fetch = (...a) => fetch(...a), o: UrlSourceOptions = {}): FileSource {
  const base = baseUrl.endsWith('/') ? baseUrl : baseUrl + '/';
  const name = o.name ?? base;
  const sizes = new Map<string, number | null>();
  const refused = (r: Response, url: string, what: string) =>
    (r.status === 401 || r.status === 403) && o.denied ? o.denied(r.status, url) : new LoadError(`${what} ${url} failed: HTTP ${r.status}`);
  return {
    name,
    list: async () => [],
    async size(file) {
      if (!sizes.has(file)) {
        let r: Response;
        try {
          r = await fetchImpl(base + file, { method: 'HEAD' });
        } catch (e) {
          readFailure(e, `cannot reach ${base + file}`);
        }
        if (!r.ok && r.status !== 404) throw refused(r, base + file, 'HEAD');
        // A server that omits content-length still says the file exists: size 0 = unknown.
        sizes.set(file, r.ok && !isHtml(r.headers) ? Number(r.headers.get('content-length') ?? 0) : null);
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
      if (r.status === 404) throw missing(name, file);
      if (!r.ok) throw refused(r, base + file, 'fetching');
      if (isHtml(r.headers)) {
        await r.body?.cancel().catch(() => {});
        throw htmlAnswer(base + file, file);
      }
      const total = Number(r.headers.get('content-length') ?? 0);
      const bytes = r.body ? await readStream(r.body, total, opts, base + file) : new Uint8Array(await r.arrayBuffer());
      if (startsLikeHtml(bytes)) throw htmlAnswer(base + file, file);
      return bytes;
    },
  };
}

function isHtml(headers: Headers): boolean {
  return /^\s*text\/html\b/i.test(headers.get('content-type') ?? '');
}

/** No model file (safetensors, GGUF, llama2.c, JSON) starts like an HTML page. */
function startsLikeHtml(bytes: Uint8Array): boolean {
  const head = new TextDecoder().decode(bytes.subarray(0, 64)).trimStart().toLowerCase();
  return head.startsWith('<!doctype html') || head.startsWith('<html');
}

function htmlAnswer(url: string, file: string): ModelFormatError {
  return new ModelFormatError(
    'missing-file',
    `the server answered ${url} with an HTML page, not the file: it is not served at that address (servers that answer unknown paths with their index.html do this)`,
    file,
  );
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

export interface HfRepoOptions {
  revision?: string;
  /** Default: the public hub. */
  endpoint?: string;
  /** Access token, sent as a bearer token. */
  token?: string;
  fetch?: typeof fetch;
  /** Said after the source's URL in messages (why this is taken as a repo). */
  note?: string;
}

/** A repo id: "owner/name", as the hub names repositories. */
export const REPO_ID = /^[A-Za-z0-9][\w.-]*\/[\w.-]*[A-Za-z0-9_]$/;

/**
 * A Hugging Face Hub repository, e.g. "raincandy-u/TinyStories-656K", read at
 * `{endpoint}/{repo}/resolve/{revision}/{file}`. HTTP 401/403 is a GatedModelError.
 */
export function hfRepoSource(repoId: string, o: HfRepoOptions = {}): FileSource {
  const endpoint = (o.endpoint ?? HF_ENDPOINT).replace(/\/+$/, '');
  const revision = o.revision ?? 'main';
  const fetchImpl = o.fetch ?? ((...a) => fetch(...a));
  const token = o.token;
  const authed: typeof fetch = token
    ? (input, init) => {
        const headers = new Headers(init?.headers);
        headers.set('authorization', `Bearer ${token}`);
        return fetchImpl(input, { ...init, headers });
      }
    : fetchImpl;
  const denied = (status: number, url: string) =>
    new GatedModelError(
      `${url}: HTTP ${status}: ${repoId} is gated or private (or does not exist). ` +
        (token
          ? 'The access token was refused: check that it is valid, that it may read gated repositories, and that your account accepted the repository\'s terms on the hub.'
          : 'Accept its terms on the hub with your account, create an access token, and pass it: createEngine({ model, hfToken }) (the CLI reads HF_TOKEN).'),
      repoId,
      status,
    );
  const base = `${endpoint}/${repoId}/resolve/${encodeURIComponent(revision)}/`;
  return urlSource(base, authed, { denied, name: o.note ? `${base} (${o.note})` : base });
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

/** A file name that is one checkpoint (GGUF, llama2.c); Hugging Face files name their folder. */
const SINGLE_FILE = /\.(gguf|bin)$/i;
const IN_HF_FOLDER = /(^|\/)(config\.json|[^/]*\.safetensors(\.index\.json)?)$/i;

/**
 * Picks the source for a spec: a FileSource as is, browser Files, a URL, a path (Node), or a Hugging
 * Face repo id. `file` is set when the spec names one checkpoint file (.gguf or .bin), whose folder
 * is the source (a tokenizer beside it is found there); a spec naming a Hugging Face file
 * (config.json, model.safetensors, ...) stands for its folder.
 *
 * - Absolute URLs are fetched as they are.
 * - In a page (or worker): `/models/x`, `./models/x`, `../x` are URLs on the page's site (`baseUrl`).
 *   A bare `owner/name` is a repo id unless the site serves a model there (its config.json); other
 *   strings are URLs relative to the page.
 * - In Node: a path that exists; else `owner/name` is a repo id; a path that starts with `.` or `/`
 *   never goes to the hub.
 */
export async function resolveSource(spec: SourceSpec, o: SourceOptions = {}): Promise<{ source: FileSource; file?: string }> {
  if (typeof spec !== 'string') return Array.isArray(spec) ? { source: fileListSource(spec) } : { source: spec as FileSource };
  const fetchImpl = o.cache === false ? undefined : cachedFetch();
  const named = IN_HF_FOLDER.test(spec) ? spec.replace(/[^/]*$/, '') || './' : spec;
  const single = SINGLE_FILE.test(named) ? named.slice(named.lastIndexOf('/') + 1) : undefined;
  const folder = single ? named.slice(0, named.length - single.length) || './' : named;
  // A commit hash names files that never change: their cached copies need no revalidation.
  const repo = (note: string) =>
    hfRepoSource(spec.replace(/\/+$/, ''), {
      revision: o.revision,
      endpoint: o.hfEndpoint,
      token: o.hfToken,
      fetch: o.cache === false ? undefined : cachedFetch({ immutable: /^[0-9a-f]{40}$/i.test(o.revision ?? '') }),
      note,
    });

  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) return { source: urlSource(folder, fetchImpl), file: single };
  const looksLikeRepo = !single && REPO_ID.test(spec.replace(/\/+$/, ''));

  if (isNode()) {
    const st = await (await nodeFs()).stat(spec).catch(() => null);
    // A file of a Hugging Face folder (config.json, model.safetensors) stands for its folder (`named`).
    if (st && (st.isDirectory() || single || (st.isFile() && named !== spec))) return { source: nodeDirSource(folder), file: single };
    if (st) throw new ModelFormatError('not-a-file', 'is not a model: pass its folder, or a .gguf or llama2.c .bin file', spec);
    if (looksLikeRepo) return { source: repo(`${spec} taken as a Hugging Face repo id: there is no file or folder ${spec} here`) };
    throw new ModelFormatError(
      'missing-file',
      `no model at ${spec}: no such file or folder` + (REPO_ID.test(spec) ? '' : ' (and it is not a Hugging Face repo id "owner/name")'),
    );
  }

  const page = o.baseUrl ?? (typeof location !== 'undefined' ? location.href : undefined);
  const onSite = (path: string) => {
    if (!page) throw new ModelFormatError('missing-file', `no model at ${spec}: a relative URL needs a page to resolve against (pass baseUrl)`);
    return new URL(path, page).href;
  };
  if (looksLikeRepo) {
    // Served by the site itself? (its config.json, not an index.html fallback)
    if (page) {
      const local = urlSource(onSite(folder), fetchImpl);
      if ((await local.size('config.json').catch(() => null)) !== null) return { source: local };
    }
    return { source: repo(`${spec} taken as a Hugging Face repo id` + (page ? `: ${onSite(folder)} serves no config.json` : '')) };
  }
  return { source: urlSource(onSite(folder), fetchImpl), file: single };
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
