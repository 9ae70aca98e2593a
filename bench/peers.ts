/**
 * llama.cpp beside us on the same GGUF files: node-llama-cpp's prebuilt CPU build, installed by
 * `npm run bench:peers` into node_modules/.peers (an optional extra: npm test never needs it), and
 * our WebGPU backend, both decoding greedily after a `context`-token prompt in the same process.
 * llama.cpp runs at every thread count up to the core count, since more threads than free cores can
 * be many times slower; the best is compared. Ours runs on whatever adapter Dawn finds (on these
 * machines Mesa lavapipe, a Vulkan driver on the CPU using every core).
 */
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { WebGpuBackend } from '../src/gpu/backend';
import type { GpuContext } from '../src/gpu/device';
import { resolveSampling } from '../src/backend/sampling';
import { loadModel } from '../src/model/load';
import { bestTokS } from './timing';
import { markFilled } from '../test/helpers/kv-cache';

/** Where bench/install-peers.mjs puts node-llama-cpp. */
const PEERS_DIR = resolve(import.meta.dirname, '../node_modules/.peers/node_modules/node-llama-cpp');

/** The part of node-llama-cpp's API used here (its types are not installed for tsc). */
interface Llama {
  loadModel(o: { modelPath: string }): Promise<{
    createContext(o: { contextSize: number; threads: number; batchSize: number }): Promise<{
      getSequence(): { evaluate(tokens: number[], o: { temperature: number; yieldEogToken: boolean }): AsyncGenerator<number> };
      dispose(): Promise<void>;
    }>;
    dispose(): Promise<void>;
  }>;
  dispose(): Promise<void>;
}

export interface PeerRow {
  model: string;
  file: string;
  context: number;
  /** Rounds of timed steps per side and setting (the best is kept). */
  rounds: number;
  ours: { tokS: number; decodeTokens: number; adapter: string };
  llamaCpp: { threads: number; tokS: number; decodeTokens: number }[];
  bestThreads: number;
  /** Our decode tok/s over llama.cpp's best. */
  ratio: number;
}

/** node-llama-cpp's CPU build and its version, or null when bench:peers has not installed it. */
export async function loadLlamaCpp(): Promise<{ llama: Llama; version: string } | null> {
  const entry = resolve(PEERS_DIR, 'dist/index.js');
  if (!existsSync(entry)) return null;
  const { getLlama } = await import(pathToFileURL(entry).href);
  const { version } = JSON.parse(readFileSync(resolve(PEERS_DIR, 'package.json'), 'utf8')) as { version: string };
  // The prebuilt CPU binaries only: no GPU, never a source build (nothing may be downloaded).
  return { llama: await getLlama({ gpu: false, build: 'never', logLevel: 'error' }), version };
}

const greedy = resolveSampling({ greedy: true });

async function ours(ctx: GpuContext, file: string, context: number, decodeTokens: number, rounds: number): Promise<number> {
  const model = await loadModel(file);
  const backend = await WebGpuBackend.create(model, { ctx, kvCapacity: context + rounds * decodeTokens + 1 });
  try {
    // The prompt's cache marked full (speed does not depend on the values), one untimed step, then timed ones.
    markFilled(backend.forward.kv, context);
    backend.context.push(...Array.from({ length: context }, (_, i) => 3 + (i % 200)));
    let next = await backend.append([1], greedy, 0);
    return await bestTokS(rounds, decodeTokens, async () => void (next = await backend.append([next], greedy, backend.context.length)));
  } finally {
    backend.dispose();
  }
}

async function llamaCpp(llama: Llama, file: string, context: number, decodeTokens: number, rounds: number, threads: number): Promise<number> {
  const model = await llama.loadModel({ modelPath: file });
  const lctx = await model.createContext({ contextSize: context + rounds * decodeTokens + 8, threads, batchSize: context });
  try {
    const prompt = Array.from({ length: context }, (_, i) => 3 + (i % 200));
    // Past an end-of-story token too (it would end the generation, and the timing with it).
    const tokens = lctx.getSequence().evaluate(prompt, { temperature: 0, yieldEogToken: true });
    const next = async () => {
      if ((await tokens.next()).done) throw new Error('llama.cpp stopped generating');
    };
    // The first token comes after the prefill; each later one is a decode step.
    await next();
    const tokS = await bestTokS(rounds, decodeTokens, next);
    await tokens.return(undefined);
    return tokS;
  } finally {
    await lctx.dispose();
    await model.dispose();
  }
}

/** `decode`: timed steps per round for each side; the best of `rounds` rounds is kept. */
export async function benchPeer(ctx: GpuContext, llama: Llama, name: string, file: string, context: number, decode: { ours: number; llamaCpp: number }, rounds: number): Promise<PeerRow> {
  const oursTokS = await ours(ctx, file, context, decode.ours, rounds);
  const runs: PeerRow['llamaCpp'] = [];
  for (let threads = 1; threads <= cpus().length; threads++) runs.push({ threads, tokS: await llamaCpp(llama, file, context, decode.llamaCpp, rounds, threads), decodeTokens: decode.llamaCpp });
  const best = runs.reduce((a, b) => (b.tokS > a.tokS ? b : a));
  return {
    model: name,
    file,
    context,
    rounds,
    ours: { tokS: oursTokS, decodeTokens: decode.ours, adapter: `${ctx.info.vendor} ${ctx.info.architecture}${ctx.info.isFallback ? ' (software)' : ''}` },
    llamaCpp: runs,
    bestThreads: best.threads,
    ratio: oursTokS / best.tokS,
  };
}

export interface GreedyRow {
  model: string;
  /** The tensor types in the file, e.g. "12 Q5_0, 3 Q8_0, 5 F32". */
  types: string;
  prompt: number[];
  ours: number[];
  llamaCpp: number[];
  /** Leading ids that agree. */
  agree: number;
}

/**
 * Greedy ids on the same file after the same prompt ids: ours (WebGPU) and llama.cpp's (which
 * quantizes activations to 8 bits for its K-quant dot products, so a near-tie may break the other
 * way after many tokens; the leading agreement is what is reported).
 */
export async function greedyIds(ctx: GpuContext, llama: Llama, model: string, types: string, file: string, prompt: number[], n: number): Promise<GreedyRow> {
  const backend = await WebGpuBackend.create(await loadModel(file), { ctx, kvCapacity: prompt.length + n + 1 });
  const ours: number[] = [];
  try {
    let next = await backend.append(prompt, greedy, 0);
    for (let i = 0; i < n; i++) {
      ours.push(next);
      if (i + 1 < n) next = await backend.append([next], greedy, i + 1);
    }
  } finally {
    backend.dispose();
  }
  const m = await llama.loadModel({ modelPath: file });
  const lctx = await m.createContext({ contextSize: prompt.length + n + 8, threads: Math.max(1, cpus().length), batchSize: prompt.length });
  const theirs: number[] = [];
  try {
    for await (const id of lctx.getSequence().evaluate(prompt, { temperature: 0, yieldEogToken: true })) {
      theirs.push(id);
      if (theirs.length === n) break;
    }
  } finally {
    await lctx.dispose();
    await m.dispose();
  }
  let agree = 0;
  while (agree < n && ours[agree] === theirs[agree]) agree++;
  return { model, types, prompt, ours, llamaCpp: theirs, agree };
}
