/** Repo ids in a page against the local hub-shaped server (test/helpers/hub-server.ts): progress, the Cache API, gated repos. */
import { createWorkerEngine } from '../../src/engine/worker-engine';
import { GatedModelError } from '../../src/errors';
import { clearModelCache, MODEL_CACHE } from '../../src/model/http-cache';
import { loadModel } from '../../src/model/load';
import type { LoadProgress } from '../../src/model/types';

function described(e: unknown) {
  const g = e as GatedModelError;
  return { ok: false as const, name: g.name, isGated: e instanceof GatedModelError, repo: g.repo, status: g.status, message: g.message };
}

export async function hubLoadCase(_ctx: unknown, o: { endpoint: string; repo: string; token?: string; clear?: boolean }) {
  if (o.clear) await clearModelCache();
  const progress: LoadProgress[] = [];
  try {
    const m = await loadModel(o.repo, { hfEndpoint: o.endpoint, hfToken: o.token, onProgress: (p) => progress.push(p) });
    const cache = await caches.open(MODEL_CACHE);
    return {
      ok: true as const,
      layers: m.config.numLayers,
      generationConfig: m.generationConfig,
      progress: { count: progress.length, last: progress.at(-1) },
      cached: (await cache.keys()).map((r) => new URL(r.url).pathname).sort(),
    };
  } catch (e) {
    return described(e);
  }
}

export async function hubWorkerCase(_ctx: unknown, o: { endpoint: string; repo: string }) {
  try {
    (await createWorkerEngine({ model: o.repo, hfEndpoint: o.endpoint })).dispose();
    return null;
  } catch (e) {
    return described(e);
  }
}
