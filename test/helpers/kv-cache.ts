/**
 * Test and benchmark access to the paged KV cache's state (src/gpu/kv-cache.ts), kept out of the
 * production class: write a head's slots directly, free slots as a policy would, read a head back,
 * mark a context filled without prefilling it.
 */
import type { GpuKvCache } from '../../src/gpu/kv-cache';
import { UNMAPPED } from '../../src/gpu/page-allocator';
import { readBuffer } from '../../src/gpu/buffers';
import { f16BitsToF32, f32ToF16Bits } from '../../src/model/half-float';

export interface HeadState {
  /** Per slot (maxSlots of them), in slot order. */
  pos: Int32Array;
  score: Float32Array;
  /** maxSlots * headDim, slot after slot (zeros for unmapped pages), as float32. */
  keys: Float32Array;
  values: Float32Array;
  numSlots: number;
  /** The free list (descending). */
  freeSlots: number[];
  /** Where the next appended token goes. */
  nextSlot: number;
}

/** What a test or benchmark writes into one head with `writeHead`. */
export interface HeadContents {
  /** Positions of slots 0..n-1 (-1 = free): numSlots becomes n, the free list the -1 slots. */
  pos: ArrayLike<number>;
  /** n * headDim each (free slots' entries are written too, harmlessly). */
  keys: Float32Array;
  values: Float32Array;
  score?: ArrayLike<number>;
}

/** Floats as the pools store them. */
function encode(cache: GpuKvCache, x: Float32Array): Float32Array | Uint16Array {
  return cache.dtype === 'f32' ? x : Uint16Array.from(x, f32ToF16Bits);
}

/** Pool elements as float32. */
function decode(cache: GpuKvCache, raw: ArrayBuffer): Float32Array {
  return cache.dtype === 'f32' ? new Float32Array(raw) : Float32Array.from(new Uint16Array(raw), f16BitsToF32);
}

/**
 * Marks the first `tokens` slots of every head live at positions 0..tokens-1, leaving their K/V
 * as they are. Benchmarks use it to time decoding at a context length without prefilling it
 * (speed does not depend on the values).
 */
export function markFilled(cache: GpuKvCache, tokens: number): void {
  const { numKvHeads } = cache.o;
  cache.highWater = tokens;
  const n = Math.min(tokens, cache.maxSlots);
  for (const layer of cache.layers)
    for (let h = 0; h < numKvHeads; h++) {
      cache.device.queue.writeBuffer(layer.index, 2 * h * 4, Uint32Array.of(n, 0));
      cache.device.queue.writeBuffer(layer.index, (cache.slotPosOffset + h * cache.maxSlots) * 4, Int32Array.from({ length: n }, (_, i) => i));
    }
}

/** Frees slots of one head as a policy does (policies do it on the GPU). */
export async function freeSlots(cache: GpuKvCache, layer: number, head: number, slots: number[]): Promise<void> {
  const L = cache.layers[layer];
  const index = new Int32Array(await readBuffer(cache.device, L.index));
  const list = cache.freeListOffset + head * cache.maxSlots;
  const free = Array.from(index.subarray(list, list + index[2 * head + 1]));
  for (const s of slots) {
    if (s < 0 || s >= index[2 * head] || index[cache.slotPosOffset + head * cache.maxSlots + s] < 0) throw new RangeError(`slot ${s} of head ${head} is not live`);
    index[cache.slotPosOffset + head * cache.maxSlots + s] = -1;
    free.push(s);
  }
  free.sort((a, b) => b - a);
  index.set(free, list);
  index[2 * head + 1] = free.length;
  cache.device.queue.writeBuffer(L.index, 0, index);
  for (const s of slots) cache.device.queue.writeBuffer(L.score, (head * cache.maxSlots + s) * 4, new Float32Array(1));
}

/**
 * Writes a head's slot table and K/V directly (what a long history with evictions leaves behind,
 * without running it). Raises the layer's high-water mark to cover the slots.
 */
export function writeHead(cache: GpuKvCache, layer: number, head: number, c: HeadContents): void {
  const { headDim } = cache.o;
  const n = c.pos.length;
  if (n > cache.capacity) throw new RangeError(`${n} slots exceed the ${cache.capacity} of this cache`);
  if (cache.layerHighWater(layer) < n) cache.reserve(cache.layers.map((_, l) => (l === layer ? n : cache.layerHighWater(l))));
  const L = cache.layers[layer];
  const pos = Int32Array.from(c.pos);
  const free: number[] = [];
  for (let s = n - 1; s >= 0; s--) if (pos[s] < 0) free.push(s);
  const q = cache.device.queue;
  q.writeBuffer(L.index, 2 * head * 4, Uint32Array.of(n, free.length));
  if (n > 0) q.writeBuffer(L.index, (cache.slotPosOffset + head * cache.maxSlots) * 4, pos);
  if (free.length) q.writeBuffer(L.index, (cache.freeListOffset + head * cache.maxSlots) * 4, Uint32Array.from(free));
  const score = new Float32Array(n);
  if (c.score) score.set(Array.from(c.score));
  for (let s = 0; s < n; s++) if (pos[s] < 0) score[s] = 0;
  if (n > 0) q.writeBuffer(L.score, head * cache.maxSlots * 4, score);
  for (let s = 0; s < n; s++) {
    const at = cache.slotOffset(head, s, layer) * cache.elementBytes;
    q.writeBuffer(L.k, at, encode(cache, c.keys.subarray(s * headDim, (s + 1) * headDim)));
    q.writeBuffer(L.v, at, encode(cache, c.values.subarray(s * headDim, (s + 1) * headDim)));
  }
}

/** Reads one head back in slot order. */
export async function readHead(cache: GpuKvCache, layer: number, head: number): Promise<HeadState> {
  const { headDim } = cache.o;
  const { device, maxSlots, pageSize } = cache;
  const L = cache.layers[layer];
  const index = new Int32Array(await readBuffer(device, L.index));
  const score = new Float32Array(await readBuffer(device, L.score, maxSlots * 4, head * maxSlots * 4));
  const kPool = decode(cache, await readBuffer(device, L.k));
  const vPool = decode(cache, await readBuffer(device, L.v));
  const keys = new Float32Array(maxSlots * headDim);
  const values = new Float32Array(maxSlots * headDim);
  for (let s = 0; s < maxSlots; s++) {
    const page = index[cache.pageTableOffset + head * cache.pagesPerHead + Math.floor(s / pageSize)] >>> 0;
    if (page === UNMAPPED) continue;
    const base = (page * pageSize + (s % pageSize)) * headDim;
    keys.set(kPool.subarray(base, base + headDim), s * headDim);
    values.set(vPool.subarray(base, base + headDim), s * headDim);
  }
  const numSlots = index[2 * head];
  const list = cache.freeListOffset + head * maxSlots;
  const freeList = Array.from(index.subarray(list, list + index[2 * head + 1]));
  return {
    pos: index.slice(cache.slotPosOffset + head * maxSlots, cache.slotPosOffset + (head + 1) * maxSlots),
    score,
    keys,
    values,
    numSlots,
    freeSlots: freeList,
    nextSlot: freeList.length ? freeList[freeList.length - 1] : numSlots,
  };
}
