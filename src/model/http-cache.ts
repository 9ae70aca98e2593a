/**
 * Model downloads kept in the browser's Cache API, so a reload reads them from disk instead of the
 * network. Complete 200 responses are stored, and 404s too (loaders probe for optional files, and a
 * reload must not go back to the network to learn again that they are missing); where the Cache API
 * is missing (Node, an insecure page) this is plain fetch.
 */
export const MODEL_CACHE = 'd2o-webgpu-models';

export function cachedFetch(cacheName = MODEL_CACHE, fetchImpl: typeof fetch = (...a) => fetch(...a)): typeof fetch {
  if (typeof caches === 'undefined') return fetchImpl;
  return async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const method = (init?.method ?? 'GET').toUpperCase();
    const cache = await caches.open(cacheName).catch(() => null);
    const hit = await cache?.match(url).catch(() => undefined);
    if (hit) return method === 'HEAD' ? new Response(null, { status: hit.status, headers: hit.headers }) : hit;
    const r = await fetchImpl(input, init);
    if (cache && method === 'GET' && (r.status === 200 || r.status === 404)) {
      // The clone fills the cache as the caller reads; a failed or aborted download stores nothing.
      void cache.put(url, r.clone()).catch(() => {});
    }
    return r;
  };
}

/** Drops every cached model file (e.g. from a "clear downloads" button). */
export async function clearModelCache(cacheName = MODEL_CACHE): Promise<boolean> {
  return typeof caches === 'undefined' ? false : caches.delete(cacheName);
}
