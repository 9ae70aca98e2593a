/** Loading a model over HTTP in a page: the files go to the Cache API, so a reload reads them from there. */
import { loadModel } from '../../src/model/load';
import { clearModelCache } from '../../src/model/http-cache';

export async function loadForCacheCase(_ctx: unknown, o: { model: string; clear?: boolean }) {
  if (o.clear) await clearModelCache();
  const m = await loadModel(o.model);
  const cache = await caches.open('d2o-webgpu-models');
  return { layers: m.config.numLayers, cached: (await cache.keys()).map((r) => new URL(r.url).pathname).sort() };
}
