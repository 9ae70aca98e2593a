/**
 * Model downloads kept in the browser's Cache API (cache name `d2o-webgpu-models`), so a reload
 * reads them from disk instead of the network. Stored: complete 200 answers that are not HTML pages
 * (a server's index.html fallback is never kept), and 404s (loaders probe for optional files; an
 * offline reload must know they are missing). A kept file is revalidated on each load when its
 * server gave a validator: a conditional request (`If-None-Match` / `If-Modified-Since`) answered 304
 * keeps it, a new answer replaces it, no network keeps it. Files of a hub repo at a commit hash never
 * change and are not revalidated; files whose server gave no validator are served from the cache
 * (clearModelCache() drops them). Where the Cache API is missing (Node, an insecure page) this is
 * plain fetch.
 */
export const MODEL_CACHE = 'd2o-webgpu-models';

export interface CachedFetchOptions {
  cacheName?: string;
  fetch?: typeof fetch;
  /** The URLs name files that never change (a hub revision that is a commit hash): no revalidation. */
  immutable?: boolean;
}

export function cachedFetch(o: CachedFetchOptions = {}): typeof fetch {
  const fetchImpl = o.fetch ?? ((...a) => fetch(...a));
  if (typeof caches === 'undefined') return fetchImpl;
  const cacheName = o.cacheName ?? MODEL_CACHE;
  return async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const method = (init?.method ?? 'GET').toUpperCase();
    const cache = await caches.open(cacheName).catch(() => null);
    const hit = await cache?.match(url).catch(() => undefined);
    if (!cache || !hit) {
      const r = await fetchImpl(input, init);
      if (cache && method === 'GET') keep(cache, url, r);
      return r;
    }
    if (method === 'HEAD') return new Response(null, { status: hit.status, headers: hit.headers });
    const etag = hit.headers.get('etag');
    const lastModified = hit.headers.get('last-modified');
    if (o.immutable || (hit.status === 200 && !etag && !lastModified)) return hit;
    const headers = new Headers(init?.headers);
    if (etag) headers.set('if-none-match', etag);
    else if (lastModified) headers.set('if-modified-since', lastModified);
    let r: Response;
    try {
      r = await fetchImpl(input, { ...init, headers });
    } catch (e) {
      if (init?.signal?.aborted) throw e;
      return hit; // offline: the kept copy
    }
    if (r.status === 304 || r.status >= 500) return hit; // unchanged, or a server failing: the kept copy
    keep(cache, url, r);
    return r;
  };
}

/** Cache writes not finished yet (a put ends after the caller has read the whole body). */
const writes = new Set<Promise<void>>();

/** Stores a 200 (not an HTML page) or a 404; the clone fills the cache as the caller reads, and a failed or aborted download stores nothing. */
function keep(cache: Cache, url: string, r: Response): void {
  const html = /^\s*text\/html\b/i.test(r.headers.get('content-type') ?? '');
  if (!((r.status === 200 && !html) || r.status === 404)) return;
  const write = cache.put(url, r.clone()).catch(() => {});
  writes.add(write);
  void write.finally(() => writes.delete(write));
}

/** Resolves once the downloads kept so far are stored (or failed to be): a load awaits it, so a reload right after it finds every file. */
export async function cacheWritesSettled(): Promise<void> {
  await Promise.all(writes);
}

/** Drops every cached model file (e.g. from a "clear downloads" button). False where there is no Cache API. */
export async function clearModelCache(cacheName = MODEL_CACHE): Promise<boolean> {
  return typeof caches === 'undefined' ? false : caches.delete(cacheName);
}
