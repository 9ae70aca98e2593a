/**
 * The paged KV cache on the GPU (layout in docs/gpu-kernels.md, "Paged KV cache").
 *
 * Per layer:
 * - `k`, `v`: pools of `poolPages * pageSize * headDim` f32, pages shared by the layer's KV heads.
 * - `index` (u32), per KV head `h`, in this order:
 *     meta        [2h, 2h+1]                                   = { numSlots, freeCount }
 *     page table  [pageTableOffset + h*pagesPerHead + j]       = physical page of logical page j
 *     slot pos    [slotPosOffset + h*maxSlots + s]   (as i32)  = position of the token in slot s, -1 = free
 *     free list   [freeListOffset + h*maxSlots + i], i < freeCount: freed slots, DESCENDING
 * - `score` (f32) [h*maxSlots + s]: cumulative attention received by slot s, summed over the head's
 *   query group.
 * Slot `s` of head `h` lives at `(pageTable[h][s / pageSize] * pageSize + s % pageSize) * headDim`.
 *
 * Slot rules (the CPU reference's HeadSlots.append, token by token, gives the same tables):
 * - `numSlots` is the head's high-water mark: slots >= numSlots have never been used. Kernels iterate
 *   `s < numSlots` and skip free slots (pos -1), so freeing and reusing a slot moves nothing.
 * - The next slot ("nextSlot") is the lowest freed slot, the free list's last entry, while
 *   freeCount > 0, else numSlots. A chunk of T tokens (prefill) gives token t the t-th lowest freed
 *   slot while there are any, then numSlots + (t - freeCount), ...: new slots are appended at the
 *   end, so a chunk needs no contiguous run of free slots.
 * - An eviction kernel frees slot e by writing pos[e] = -1 (and score 0) and inserting e into the
 *   free list (kept descending), freeCount += 1; the next append reuses it. kv_append's `advance`
 *   then updates meta: numSlots += tokens not placed in freed slots (clamped to maxSlots).
 *
 * Memory: the pools hold pages for `initialSlots` slots per head at creation (default: the whole
 * capacity) and grow on demand, as the CPU-known high-water mark passes them, by reallocating with
 * copyBufferToBuffer (geometric, so rare), never past `capacity`: a capped cache (a policy's budget
 * plus a chunk) reaches its cap and then stays constant however many tokens pass through it.
 * Growth replaces `layers[l].k` / `.v`: the attention and append wrappers re-bind by themselves
 * (they compare `version`); any other holder of the pools must re-bind in `onGrow`. Growth happens
 * when `highWater` is raised (or `reserve` is called), which must be before encoding the command
 * buffer that uses the new slots, and not while an unsubmitted command buffer still uses the pools.
 */
import { readBuffer } from './buffers';
import { PageAllocator, UNMAPPED } from './page-allocator';

export interface PagedCacheOptions {
  numLayers: number;
  numKvHeads: number;
  headDim: number;
  /** Slots per KV head: the context length for the full cache, budget + one chunk under a policy. */
  capacity: number;
  pageSize?: number;
  /**
   * Slots per head the pools hold at creation; the pools grow from there on demand (up to
   * `capacity`). Default: `capacity` (everything allocated up front, no growth ever).
   */
  initialSlots?: number;
  /** Hand out physical pages in a seeded pseudo-random order (tests). */
  pageSeed?: number;
}

export interface LayerKv {
  k: GPUBuffer;
  v: GPUBuffer;
  index: GPUBuffer;
  score: GPUBuffer;
}

export interface HeadState {
  /** Per slot (maxSlots of them), in slot order. */
  pos: Int32Array;
  score: Float32Array;
  /** maxSlots * headDim, slot after slot (zeros for unmapped pages). */
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

export class GpuKvCache {
  readonly pageSize: number;
  readonly pagesPerHead: number;
  readonly maxSlots: number;
  readonly pageTableOffset: number;
  readonly slotPosOffset: number;
  readonly freeListOffset: number;
  readonly layers: LayerKv[];
  readonly allocator: PageAllocator;
  /** Bumped every time the pools are reallocated (bind groups holding them are then stale). */
  version = 0;
  private hw = 0;
  private readonly listeners = new Set<() => void>();
  private readonly indexWords: number;

  constructor(
    private readonly device: GPUDevice,
    readonly o: PagedCacheOptions,
  ) {
    if (!(o.capacity >= 1)) throw new RangeError(`a KV cache needs a capacity of at least 1 slot per head (got ${o.capacity})`);
    const x = layoutOf(o);
    this.pageSize = x.pageSize;
    this.pagesPerHead = x.pagesPerHead;
    this.maxSlots = x.maxSlots;
    this.pageTableOffset = 2 * o.numKvHeads;
    this.slotPosOffset = this.pageTableOffset + o.numKvHeads * this.pagesPerHead;
    this.freeListOffset = this.slotPosOffset + o.numKvHeads * this.maxSlots;
    this.indexWords = x.indexWords;
    this.allocator = newAllocator(o, x, o.pageSeed);
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    this.layers = Array.from({ length: o.numLayers }, (_, l) => ({
      k: this.pool(`k pool ${l}`, this.allocator.poolPages),
      v: this.pool(`v pool ${l}`, this.allocator.poolPages),
      index: device.createBuffer({ label: `kv index ${l}`, size: this.indexWords * 4, usage }),
      score: device.createBuffer({ label: `kv score ${l}`, size: o.numKvHeads * this.maxSlots * 4, usage }),
    }));
    this.reset();
  }

  private pool(label: string, pages: number): GPUBuffer {
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    return this.device.createBuffer({ label, size: poolBytes(this.o, pages), usage });
  }

  /**
   * Upper bound of every head's numSlots: the slots appended so far (capped by consumers at
   * maxSlots for dispatch sizes). Raising it maps the pages those slots need, growing the pools
   * when they are short.
   */
  get highWater(): number {
    return this.hw;
  }

  set highWater(slots: number) {
    this.hw = slots;
    this.reserve(slots);
  }

  /** Maps pages for `slots` slots per head (at most maxSlots), growing the pools if needed. */
  reserve(slots: number): void {
    const pages = this.allocator.pagesFor(Math.min(slots, this.maxSlots), this.pageSize);
    if (pages <= this.allocator.mapped) return;
    const r = this.allocator.map(pages);
    if (r.grew) this.growPools(r.poolPages);
    this.writePageTables();
  }

  /** Registers a callback run after the pools are reallocated; returns its removal. */
  onGrow(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private growPools(pages: number): void {
    const enc = this.device.createCommandEncoder({ label: 'kv pool growth' });
    const old: GPUBuffer[] = [];
    this.layers.forEach((L, l) => {
      const k = this.pool(`k pool ${l}`, pages);
      const v = this.pool(`v pool ${l}`, pages);
      enc.copyBufferToBuffer(L.k, 0, k, 0, L.k.size);
      enc.copyBufferToBuffer(L.v, 0, v, 0, L.v.size);
      old.push(L.k, L.v);
      L.k = k;
      L.v = v;
    });
    this.device.queue.submit([enc.finish()]);
    // Submitted work that uses them still completes; nothing can be encoded with them any more.
    for (const b of old) b.destroy();
    this.version++;
    for (const f of this.listeners) f();
  }

  private writePageTables(): void {
    const words = new Uint32Array(this.o.numKvHeads * this.pagesPerHead);
    this.allocator.tables.forEach((t, h) => words.set(t, h * this.pagesPerHead));
    for (const L of this.layers) this.device.queue.writeBuffer(L.index, this.pageTableOffset * 4, words);
  }

  /** Empties every head (slots free, scores 0, meta 0); the pools keep their size. */
  reset(): void {
    const { numKvHeads } = this.o;
    this.allocator.reset();
    // Map what the pools hold now, so a fresh cache needs no growth up to its initial size.
    this.allocator.map(this.allocator.poolPages / numKvHeads);
    const index = new Uint32Array(this.indexWords);
    this.allocator.tables.forEach((t, h) => index.set(t, this.pageTableOffset + h * this.pagesPerHead));
    index.fill(0xffffffff, this.slotPosOffset, this.freeListOffset);
    for (const layer of this.layers) {
      this.device.queue.writeBuffer(layer.index, 0, index);
      this.device.queue.writeBuffer(layer.score, 0, new Float32Array(numKvHeads * this.maxSlots));
    }
    this.hw = 0;
  }

  /**
   * Marks the first `tokens` slots of every head live at positions 0..tokens-1, leaving their K/V
   * as they are. Benchmarks use it to time decoding at a context length without prefilling it
   * (speed does not depend on the values).
   */
  markFilled(tokens: number): void {
    const { numKvHeads } = this.o;
    const n = Math.min(tokens, this.maxSlots);
    this.highWater = tokens;
    for (const layer of this.layers)
      for (let h = 0; h < numKvHeads; h++) {
        this.device.queue.writeBuffer(layer.index, 2 * h * 4, Uint32Array.of(n, 0));
        this.device.queue.writeBuffer(layer.index, (this.slotPosOffset + h * this.maxSlots) * 4, Int32Array.from({ length: n }, (_, i) => i));
      }
  }

  /** Frees slots of one head as a policy does (tests use it; policies do it on the GPU). */
  async freeSlots(layer: number, head: number, slots: number[]): Promise<void> {
    const L = this.layers[layer];
    const index = new Int32Array(await readBuffer(this.device, L.index));
    const list = this.freeListOffset + head * this.maxSlots;
    const free = Array.from(index.subarray(list, list + index[2 * head + 1]));
    for (const s of slots) {
      if (s < 0 || s >= index[2 * head] || index[this.slotPosOffset + head * this.maxSlots + s] < 0) throw new RangeError(`slot ${s} of head ${head} is not live`);
      index[this.slotPosOffset + head * this.maxSlots + s] = -1;
      free.push(s);
    }
    free.sort((a, b) => b - a);
    index.set(free, list);
    index[2 * head + 1] = free.length;
    this.device.queue.writeBuffer(L.index, 0, index);
    for (const s of slots) this.device.queue.writeBuffer(L.score, (head * this.maxSlots + s) * 4, new Float32Array(1));
  }

  /**
   * Writes a head's slot table and K/V directly (tests and benchmarks: what a long history with
   * evictions leaves behind, without running it). Raises highWater to cover the slots.
   */
  writeHead(layer: number, head: number, c: HeadContents): void {
    const { headDim } = this.o;
    const n = c.pos.length;
    if (n > this.maxSlots) throw new RangeError(`${n} slots exceed the ${this.maxSlots} of this cache`);
    if (this.highWater < n) this.highWater = n;
    const L = this.layers[layer];
    const pos = Int32Array.from(c.pos);
    const free: number[] = [];
    for (let s = n - 1; s >= 0; s--) if (pos[s] < 0) free.push(s);
    this.device.queue.writeBuffer(L.index, 2 * head * 4, Uint32Array.of(n, free.length));
    if (n > 0) this.device.queue.writeBuffer(L.index, (this.slotPosOffset + head * this.maxSlots) * 4, pos);
    if (free.length) this.device.queue.writeBuffer(L.index, (this.freeListOffset + head * this.maxSlots) * 4, Uint32Array.from(free));
    const score = new Float32Array(n);
    if (c.score) score.set(Array.from(c.score));
    for (let s = 0; s < n; s++) if (pos[s] < 0) score[s] = 0;
    if (n > 0) this.device.queue.writeBuffer(L.score, head * this.maxSlots * 4, score);
    for (let s = 0; s < n; s++) {
      const at = this.slotOffset(head, s) * 4;
      this.device.queue.writeBuffer(L.k, at, c.keys, s * headDim, headDim);
      this.device.queue.writeBuffer(L.v, at, c.values, s * headDim, headDim);
    }
  }

  /** Float offset of slot `s` of head `h` in the pools. */
  slotOffset(head: number, slot: number): number {
    const page = this.allocator.physical(head, Math.floor(slot / this.pageSize));
    if (page === UNMAPPED) throw new RangeError(`slot ${slot} of head ${head} has no page`);
    return (page * this.pageSize + (slot % this.pageSize)) * this.o.headDim;
  }

  /** KV bytes allocated on the GPU now (pools, index, scores). */
  bytes(): number {
    return this.layers.reduce((s, l) => s + l.k.size + l.v.size + l.index.size + l.score.size, 0);
  }

  /**
   * What `bytes()` reads on a fresh cache with options `o` once `tokens` tokens were appended one
   * by one with none freed: the full cache's own allocation for a context (pools grown
   * geometrically, page tables and scores), to compare a compressed cache's allocation with.
   */
  static allocatedBytesFor(o: PagedCacheOptions, tokens: number): number {
    const x = layoutOf(o);
    const a = newAllocator(o, x);
    a.map(a.poolPages / o.numKvHeads);
    for (let p = a.mapped + 1; p <= a.pagesFor(Math.min(tokens, x.maxSlots), x.pageSize); p++) a.map(p);
    return o.numLayers * (2 * poolBytes(o, a.poolPages) + x.indexWords * 4 + o.numKvHeads * x.maxSlots * 4);
  }

  /** Reads one head back in slot order. For tests and statistics only, never in the decode loop. */
  async readHead(layer: number, head: number): Promise<HeadState> {
    const { headDim } = this.o;
    const L = this.layers[layer];
    const index = new Int32Array(await readBuffer(this.device, L.index));
    const score = new Float32Array(await readBuffer(this.device, L.score, this.maxSlots * 4, head * this.maxSlots * 4));
    const kPool = new Float32Array(await readBuffer(this.device, L.k));
    const vPool = new Float32Array(await readBuffer(this.device, L.v));
    const keys = new Float32Array(this.maxSlots * headDim);
    const values = new Float32Array(this.maxSlots * headDim);
    for (let s = 0; s < this.maxSlots; s++) {
      const page = index[this.pageTableOffset + head * this.pagesPerHead + Math.floor(s / this.pageSize)] >>> 0;
      if (page === UNMAPPED) continue;
      const base = (page * this.pageSize + (s % this.pageSize)) * headDim;
      keys.set(kPool.subarray(base, base + headDim), s * headDim);
      values.set(vPool.subarray(base, base + headDim), s * headDim);
    }
    const numSlots = index[2 * head];
    const list = this.freeListOffset + head * this.maxSlots;
    const freeSlots = Array.from(index.subarray(list, list + index[2 * head + 1]));
    return {
      pos: index.slice(this.slotPosOffset + head * this.maxSlots, this.slotPosOffset + (head + 1) * this.maxSlots),
      score,
      keys,
      values,
      numSlots,
      freeSlots,
      nextSlot: freeSlots.length ? freeSlots[freeSlots.length - 1] : numSlots,
    };
  }

  destroy(): void {
    for (const l of this.layers) for (const b of [l.k, l.v, l.index, l.score]) b.destroy();
    this.listeners.clear();
  }
}

/** Sizes that follow from the options (slots, pages, index words). */
function layoutOf(o: PagedCacheOptions) {
  const pageSize = o.pageSize ?? 16;
  if (!(pageSize >= 1 && Number.isInteger(pageSize))) throw new RangeError(`pageSize must be a positive integer (got ${pageSize})`);
  const pagesPerHead = Math.ceil(o.capacity / pageSize);
  const maxSlots = pagesPerHead * pageSize;
  const indexWords = 2 * o.numKvHeads + o.numKvHeads * pagesPerHead + 2 * o.numKvHeads * maxSlots;
  const initialPages = Math.ceil(Math.min(o.initialSlots ?? o.capacity, o.capacity) / pageSize);
  return { pageSize, pagesPerHead, maxSlots, indexWords, initialPages };
}

function newAllocator(o: PagedCacheOptions, x: ReturnType<typeof layoutOf>, seed?: number): PageAllocator {
  return new PageAllocator({ numHeads: o.numKvHeads, pagesPerHead: x.pagesPerHead, initialPoolPages: x.initialPages * o.numKvHeads, seed });
}

/** Bytes of one K or V pool of `pages` pages. */
function poolBytes(o: PagedCacheOptions, pages: number): number {
  return Math.max(16, pages * (o.pageSize ?? 16) * o.headDim * 4);
}
