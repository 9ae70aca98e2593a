/**
 * The paged KV cache on the GPU (layout in docs/gpu-kernels.md, "Paged KV cache").
 *
 * Per layer:
 * - `k`, `v`: pools of `poolPages * pageSize * headDim` elements (f32, or f16: halves, two to a
 *   u32 where the adapter lacks shader-f16; one byte layout either way), pages shared by the
 *   layer's KV heads.
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
 * Memory follows what is held, not a worst case:
 * - The slot tables (`maxSlots` per head: index, scores, and every per-slot buffer registered with
 *   `slotBuffer`) start at `initialSlots` and grow geometrically with the most slots any layer
 *   needs, up to `capacity` (the model's context for the full cache; under a policy, the largest
 *   layer's budget plus a chunk, set with `setLayerLimits`). Growing re-lays the index out and
 *   copies every kept row; nothing else moves.
 * - Each layer's pools hold pages for what that layer needs (its own high-water mark) and grow
 *   geometrically up to the layer's limit, by reallocating with copyBufferToBuffer.
 * Growth replaces buffers and bumps `version`: kernel wrappers re-bind and rewrite their geometry
 * uniforms when they see a new version; any other holder re-binds in `onGrow`. Growth happens when
 * `reserve`/`ensure` is called (or `highWater` raised), which must be before encoding the command
 * buffer that uses the new slots. `ensure` allocates inside error scopes and turns an allocation
 * the device refuses (or one over the adapter's buffer limits) into a ContextOverflowError that
 * names the memory limit, leaving the cache as it was.
 */
import { readBuffer } from './buffers';
import { ContextOverflowError } from '../errors';
import { kvDtypeBytes, type KvDtype } from '../kv/dtype';
import { PageAllocator, UNMAPPED } from './page-allocator';
import { uniformStruct } from './uniforms';

/** The cache's geometry as kernels read it (`kv: KvLayout`, with shaders/paged_kv.wgsl's addressing). */
export const KV_LAYOUT = uniformStruct('KvLayout', {
  numKvHeads: 'u32',
  headDim: 'u32',
  pageSize: 'u32',
  pagesPerHead: 'u32',
  maxSlots: 'u32',
  pageTableOffset: 'u32',
  slotPosOffset: 'u32',
  freeListOffset: 'u32',
});

/** KV_LAYOUT's values for `cache` now (they change when its tables grow: kernels rewrite them at re-bind). */
export function kvLayout(cache: GpuKvCache): Parameters<typeof KV_LAYOUT.pack>[0] {
  const { numKvHeads, headDim } = cache.o;
  return { numKvHeads, headDim, pageSize: cache.pageSize, pagesPerHead: cache.pagesPerHead, maxSlots: cache.maxSlots, pageTableOffset: cache.pageTableOffset, slotPosOffset: cache.slotPosOffset, freeListOffset: cache.freeListOffset };
}

export interface PagedCacheOptions {
  numLayers: number;
  numKvHeads: number;
  headDim: number;
  /**
   * Most slots per head: the context length for the full cache; Infinity when a policy bounds the
   * cache (`setLayerLimits` then caps each layer at its budget plus a chunk).
   */
  capacity: number;
  pageSize?: number;
  /**
   * Slots per head the slot tables and pools hold at creation; both grow from there on demand (up
   * to `capacity`). Default: `capacity` when finite (everything allocated up front), else 64.
   */
  initialSlots?: number;
  /** Hand out physical pages in a seeded pseudo-random order (tests). */
  pageSeed?: number;
  /** Storage of K and V (default f32). */
  dtype?: KvDtype;
  /** f16 as native `f16` where the device has shader-f16 (default), or packed in u32 everywhere. */
  f16?: 'native' | 'packed';
}

export interface LayerKv {
  k: GPUBuffer;
  v: GPUBuffer;
  index: GPUBuffer;
  score: GPUBuffer;
}

/** A buffer laid out per slot (`rows` rows of slots) that grows with the slot tables. */
export interface SlotBufferSpec {
  label: string;
  rows: number;
  bytesPerSlot: number;
  /** Slots a row holds for tables of `maxSlots` (default: maxSlots). */
  rowSlots?: (maxSlots: number) => number;
  /** Bytes after the rows (scratch that scales with the tables). */
  tailBytes?: (maxSlots: number) => number;
  /** Keep the rows' contents when the tables grow (else it is scratch). */
  keep?: boolean;
}

export interface SlotBuffer {
  /** The current buffer (replaced when the tables grow); null once released. */
  readonly buffer: GPUBuffer | null;
  /** Slots a row holds now (the row stride). */
  readonly rowSlots: number;
  /** Frees it for good (it is no longer grown or counted). */
  release(): void;
}

interface SlotBufferEntry extends SlotBuffer {
  spec: SlotBufferSpec;
  buffer: GPUBuffer | null;
}

/** New buffers for a growth, allocated before anything changes. */
interface Growth {
  maxSlots: number;
  /** Per layer: the high-water mark after the growth. */
  hw: number[];
  /** Per layer: logical pages to map and the pool's page limit per head. */
  pages: number[];
  limitPages: number[];
  /** Per layer: new pools (when a layer's pool grows). */
  pools: ({ k: GPUBuffer; v: GPUBuffer; poolPages: number } | null)[];
  /** Per layer new index and score buffers, and new slot buffers (when the tables grow). */
  tables: { index: GPUBuffer; score: GPUBuffer }[] | null;
  slotBuffers: Map<SlotBufferEntry, GPUBuffer>;
}

// A function: GPUBufferUsage is not defined in Node until a device is acquired.
const storage = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
const MiB = 2 ** 20;

export class GpuKvCache {
  readonly pageSize: number;
  readonly dtype: KvDtype;
  /** Bytes per stored K or V element. */
  readonly elementBytes: number;
  /** The WGSL that reads and writes the pools (shaders/kv_<storage>.wgsl) and the `enable` directives it needs. */
  readonly kvShader: { shader: string; enables: string[] };
  /** Slots per head the slot tables hold now (a multiple of pageSize). */
  maxSlots: number;
  readonly layers: LayerKv[];
  readonly allocators: PageAllocator[];
  /** Bumped every time buffers are reallocated (bind groups holding them are then stale). */
  version = 0;
  /** Most slots per head the tables may reach (see PagedCacheOptions.capacity). */
  capacity: number;
  private readonly limits: number[];
  private readonly hw: number[];
  private readonly listeners = new Set<() => void>();
  private readonly slotBuffers = new Set<SlotBufferEntry>();

  constructor(
    readonly device: GPUDevice,
    readonly o: PagedCacheOptions,
  ) {
    if (!(o.capacity >= 1)) throw new RangeError(`a KV cache needs a capacity of at least 1 slot per head (got ${o.capacity})`);
    this.pageSize = o.pageSize ?? 16;
    if (!(this.pageSize >= 1 && Number.isInteger(this.pageSize))) throw new RangeError(`pageSize must be a positive integer (got ${this.pageSize})`);
    this.dtype = o.dtype ?? 'f32';
    this.elementBytes = kvDtypeBytes(this.dtype);
    const native = this.dtype === 'f16' && (o.f16 ?? 'native') === 'native' && device.features.has('shader-f16');
    this.kvShader = this.dtype === 'f32' ? { shader: 'kv_f32', enables: [] } : native ? { shader: 'kv_f16_native', enables: ['f16'] } : { shader: 'kv_f16', enables: [] };
    // Kernels read and write K/V rows in pairs (packed halves) and by four (attention).
    if (o.headDim % 2 !== 0) throw new RangeError(`the GPU KV cache needs an even head dim (got ${o.headDim})`);
    this.capacity = o.capacity;
    this.limits = Array(o.numLayers).fill(o.capacity);
    this.hw = Array(o.numLayers).fill(0);
    const initial = Math.min(o.initialSlots ?? (Number.isFinite(o.capacity) ? o.capacity : 64), o.capacity);
    this.maxSlots = this.roundSlots(Math.max(1, initial));
    const pages = this.pagesPerHead;
    this.allocators = Array.from({ length: o.numLayers }, () => new PageAllocator({ numHeads: o.numKvHeads, pagesPerHead: pages, initialPoolPages: pages * o.numKvHeads, seed: o.pageSeed }));
    this.layers = Array.from({ length: o.numLayers }, (_, l) => ({
      k: this.pool(`k pool ${l}`, this.allocators[l].poolPages),
      v: this.pool(`v pool ${l}`, this.allocators[l].poolPages),
      index: device.createBuffer({ label: `kv index ${l}`, size: this.indexWords * 4, usage: storage() }),
      score: device.createBuffer({ label: `kv score ${l}`, size: o.numKvHeads * this.maxSlots * 4, usage: storage() }),
    }));
    this.reset();
  }

  get pagesPerHead(): number {
    return this.maxSlots / this.pageSize;
  }

  get pageTableOffset(): number {
    return 2 * this.o.numKvHeads;
  }

  get slotPosOffset(): number {
    return this.pageTableOffset + this.o.numKvHeads * this.pagesPerHead;
  }

  get freeListOffset(): number {
    return this.slotPosOffset + this.o.numKvHeads * this.maxSlots;
  }

  private get indexWords(): number {
    return this.freeListOffset + this.o.numKvHeads * this.maxSlots;
  }

  private roundSlots(slots: number): number {
    return Math.ceil(slots / this.pageSize) * this.pageSize;
  }

  private poolBytes(pages: number): number {
    return Math.max(16, pages * this.pageSize * this.o.headDim * this.elementBytes);
  }

  private pool(label: string, pages: number): GPUBuffer {
    return this.device.createBuffer({ label, size: this.poolBytes(pages), usage: storage() });
  }

  /**
   * Upper bound of every head's numSlots over all layers: the slots appended so far. Raising it
   * reserves that many slots in every layer (growing what is short).
   */
  get highWater(): number {
    return Math.max(...this.hw);
  }

  set highWater(slots: number) {
    this.reserve(this.hw.map(() => slots));
  }

  /** Slots layer `l` has used at most (its kernels' dispatch bound). */
  layerHighWater(layer: number): number {
    return this.hw[layer];
  }

  /**
   * Caps each layer at `slots[l]` slots per head (a policy's budget plus a chunk; Infinity: the
   * capacity) and the tables at the largest; memory already allocated stays.
   */
  setLayerLimits(slots: number[]): void {
    slots.forEach((s, l) => (this.limits[l] = Math.min(s, this.o.capacity)));
    this.capacity = Math.min(this.o.capacity, Math.max(this.maxSlots, ...this.limits));
  }

  /** Slots per head layer `l` may reach. */
  layerLimit(layer: number): number {
    return Math.min(this.limits[layer], this.capacity);
  }

  /** Grows what `slots[l]` slots per head of each layer need (no error scopes: tests, benchmarks). */
  reserve(slots: number[]): void {
    const g = this.plan(slots);
    if (g) this.commit(g);
  }

  /**
   * Grows what `slots[l]` slots per head of each layer need, allocating inside error scopes: a
   * refused allocation (or one over the adapter's limits) throws ContextOverflowError and leaves
   * the cache as it was.
   */
  async ensure(slots: number[]): Promise<void> {
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    let g: Growth | null = null;
    let planError: unknown = null;
    try {
      g = this.plan(slots);
    } catch (e) {
      planError = e;
    }
    const invalid = await this.device.popErrorScope();
    const oom = await this.device.popErrorScope();
    if (planError) throw planError;
    if (!g) return;
    if (oom || invalid) {
      for (const b of growthBuffers(g)) b.destroy();
      const bytes = growthBuffers(g).reduce((s, b) => s + b.size, 0);
      throw new ContextOverflowError(
        `the KV cache needs ${(bytes / MiB).toFixed(1)} MiB more GPU memory to hold ${Math.max(...slots)} tokens and the device refused it (${(oom ?? invalid)!.message}); the conversation so far is kept. A compressing policy holds any length in a fixed budget, e.g. kv: { policy: 'd2o', budget: 256 }`,
        Math.max(...slots),
        this.highWater,
      );
    }
    this.commit(g);
  }

  /** Registers a callback run after buffers are reallocated; returns its removal. */
  onGrow(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A per-slot buffer that grows (and, with `keep`, keeps its rows) with the slot tables. */
  slotBuffer(spec: SlotBufferSpec): SlotBuffer {
    const cache = this;
    const entry: SlotBufferEntry = {
      spec,
      buffer: this.device.createBuffer({ label: spec.label, size: this.slotBufferBytes(spec, this.maxSlots), usage: storage() }),
      get rowSlots() {
        return spec.rowSlots?.(cache.maxSlots) ?? cache.maxSlots;
      },
      release: () => {
        entry.buffer?.destroy();
        entry.buffer = null;
        this.slotBuffers.delete(entry);
      },
    };
    this.slotBuffers.add(entry);
    return entry;
  }

  private slotBufferBytes(spec: SlotBufferSpec, maxSlots: number): number {
    return Math.max(16, spec.rows * (spec.rowSlots?.(maxSlots) ?? maxSlots) * spec.bytesPerSlot + (spec.tailBytes?.(maxSlots) ?? 0));
  }

  /** What growing to `slots[l]` slots per layer takes; null when nothing is short. Allocates the new buffers. */
  private plan(slots: number[]): Growth | null {
    const want = Math.min(Math.max(...slots), this.capacity);
    const hw = this.hw.map((x, l) => Math.max(x, Math.min(slots[l] ?? 0, this.layerLimit(l))));
    const maxSlots = want > this.maxSlots ? this.roundSlots(Math.min(this.capacity, Math.max(want, 2 * this.maxSlots))) : this.maxSlots;
    const tablePages = maxSlots / this.pageSize;
    const limitPages = this.allocators.map((_, l) => Math.min(tablePages, Math.ceil(this.layerLimit(l) / this.pageSize)));
    const pages = this.allocators.map((_, l) => Math.min(limitPages[l], Math.ceil(Math.min(hw[l], maxSlots) / this.pageSize)));
    const poolPages = this.allocators.map((a, l) => a.poolPagesFor(pages[l], limitPages[l]));
    const growsTables = maxSlots > this.maxSlots;
    const growsPools = poolPages.map((p, l) => p > this.allocators[l].poolPages);
    if (!growsTables && !growsPools.some(Boolean)) {
      // Pages may still need mapping (pools already large enough).
      this.hw.splice(0, hw.length, ...hw);
      this.allocators.forEach((a, l) => {
        if (pages[l] > a.mapped) {
          a.setPagesPerHead(limitPages[l]);
          a.map(pages[l]);
          this.writePageTables(l);
        }
      });
      return null;
    }
    this.checkLimits(maxSlots, poolPages);
    const { numKvHeads } = this.o;
    const g: Growth = {
      maxSlots,
      hw,
      pages,
      limitPages,
      pools: poolPages.map((p, l) => (growsPools[l] ? { k: this.pool(`k pool ${l}`, p), v: this.pool(`v pool ${l}`, p), poolPages: p } : null)),
      tables: null,
      slotBuffers: new Map(),
    };
    if (growsTables) {
      const words = this.indexWordsFor(maxSlots);
      g.tables = this.layers.map((_, l) => ({
        index: this.device.createBuffer({ label: `kv index ${l}`, size: words * 4, usage: storage() }),
        score: this.device.createBuffer({ label: `kv score ${l}`, size: numKvHeads * maxSlots * 4, usage: storage() }),
      }));
      for (const e of this.slotBuffers) g.slotBuffers.set(e, this.device.createBuffer({ label: e.spec.label, size: this.slotBufferBytes(e.spec, maxSlots), usage: storage() }));
    }
    return g;
  }

  private indexWordsFor(maxSlots: number): number {
    const H = this.o.numKvHeads;
    return 2 * H + H * (maxSlots / this.pageSize) + 2 * H * maxSlots;
  }

  /** Throws before allocating when a buffer would pass the adapter's limits. */
  private checkLimits(maxSlots: number, poolPages: number[]): void {
    const { maxStorageBufferBindingSize, maxBufferSize } = this.device.limits;
    const limit = Math.min(maxStorageBufferBindingSize, maxBufferSize);
    const pool = this.poolBytes(Math.max(...poolPages));
    const index = this.indexWordsFor(maxSlots) * 4;
    const biggest = Math.max(pool, index, ...[...this.slotBuffers].map((e) => this.slotBufferBytes(e.spec, maxSlots)));
    if (biggest > limit) {
      const perToken = this.o.numKvHeads * this.o.headDim * this.elementBytes;
      throw new ContextOverflowError(
        `holding ${maxSlots} tokens needs a ${(biggest / MiB).toFixed(1)} MiB buffer, over this adapter's largest storage buffer of ${(limit / MiB).toFixed(1)} MiB (about ${Math.floor(limit / perToken)} tokens of K or V per layer${this.dtype === 'f32' ? "; kvDtype: 'f16' halves that" : ''}); the conversation so far is kept. A compressing policy holds any length in a fixed budget, e.g. kv: { policy: 'd2o', budget: 256 }`,
        maxSlots,
        this.maxSlots,
      );
    }
  }

  /** Copies, swaps and re-maps: the growth becomes the cache's state. */
  private commit(g: Growth): void {
    const { numKvHeads } = this.o;
    const enc = this.device.createCommandEncoder({ label: 'kv growth' });
    const old: GPUBuffer[] = [];
    g.pools.forEach((p, l) => {
      if (!p) return;
      const L = this.layers[l];
      enc.copyBufferToBuffer(L.k, 0, p.k, 0, L.k.size);
      enc.copyBufferToBuffer(L.v, 0, p.v, 0, L.v.size);
      old.push(L.k, L.v);
      L.k = p.k;
      L.v = p.v;
    });
    if (g.tables) {
      const from = { maxSlots: this.maxSlots, pos: this.slotPosOffset, free: this.freeListOffset };
      this.maxSlots = g.maxSlots;
      const to = { pos: this.slotPosOffset, free: this.freeListOffset };
      // New tables start empty (free slots, unmapped pages); the copies below bring the rows over.
      const empty = this.emptyIndex();
      const rowBytes = from.maxSlots * 4;
      g.tables.forEach((t, l) => {
        const L = this.layers[l];
        this.device.queue.writeBuffer(t.index, 0, empty);
        enc.copyBufferToBuffer(L.index, 0, t.index, 0, this.pageTableOffset * 4);
        for (let h = 0; h < numKvHeads; h++) {
          enc.copyBufferToBuffer(L.index, (from.pos + h * from.maxSlots) * 4, t.index, (to.pos + h * this.maxSlots) * 4, rowBytes);
          enc.copyBufferToBuffer(L.index, (from.free + h * from.maxSlots) * 4, t.index, (to.free + h * this.maxSlots) * 4, rowBytes);
          enc.copyBufferToBuffer(L.score, h * rowBytes, t.score, h * this.maxSlots * 4, rowBytes);
        }
        old.push(L.index, L.score);
        L.index = t.index;
        L.score = t.score;
      });
      for (const [e, buffer] of g.slotBuffers) {
        if (e.spec.keep && e.buffer) {
          const before = (e.spec.rowSlots?.(from.maxSlots) ?? from.maxSlots) * e.spec.bytesPerSlot;
          const after = (e.spec.rowSlots?.(this.maxSlots) ?? this.maxSlots) * e.spec.bytesPerSlot;
          for (let r = 0; r < e.spec.rows; r++) enc.copyBufferToBuffer(e.buffer, r * before, buffer, r * after, before);
        }
        if (e.buffer) old.push(e.buffer);
        e.buffer = buffer;
      }
    }
    this.device.queue.submit([enc.finish()]);
    // Submitted work that uses them still completes; nothing can be encoded with them any more.
    for (const b of old) b.destroy();
    this.hw.splice(0, g.hw.length, ...g.hw);
    this.allocators.forEach((a, l) => {
      a.setPagesPerHead(g.limitPages[l]);
      if (g.pages[l] > a.mapped) a.map(g.pages[l]);
    });
    this.layers.forEach((_, l) => this.writePageTables(l));
    this.version++;
    for (const f of this.listeners) f();
  }

  /** An index with every head empty: meta 0, pages unmapped, every slot free. */
  private emptyIndex(): Uint32Array {
    const index = new Uint32Array(this.indexWords);
    index.fill(UNMAPPED, this.pageTableOffset, this.freeListOffset);
    return index;
  }

  private writePageTables(layer: number): void {
    const words = new Uint32Array(this.o.numKvHeads * this.pagesPerHead).fill(UNMAPPED);
    this.allocators[layer].tables.forEach((t, h) => words.set(t.subarray(0, Math.min(t.length, this.pagesPerHead)), h * this.pagesPerHead));
    this.device.queue.writeBuffer(this.layers[layer].index, this.pageTableOffset * 4, words);
  }

  /** Empties every head (slots free, scores 0, meta 0); the pools and tables keep their size. */
  reset(): void {
    const { numKvHeads } = this.o;
    this.layers.forEach((layer, l) => {
      const a = this.allocators[l];
      a.reset();
      // Map what the pool holds now, so a fresh cache needs no growth up to its size.
      a.map(a.poolPages / numKvHeads);
      const index = this.emptyIndex();
      a.tables.forEach((t, h) => index.set(t.subarray(0, this.pagesPerHead), this.pageTableOffset + h * this.pagesPerHead));
      this.device.queue.writeBuffer(layer.index, 0, index);
      this.device.queue.writeBuffer(layer.score, 0, new Float32Array(numKvHeads * this.maxSlots));
    });
    this.hw.fill(0);
  }

  /**
   * Cuts every head back to positions < `length`, for the full cache only (no slot was ever freed,
   * so slot s holds position s): numSlots becomes `length`, the slots past it free.
   */
  truncate(length: number): void {
    const { numKvHeads } = this.o;
    this.layers.forEach((layer, l) => {
      const n = Math.min(length, this.maxSlots);
      const upTo = Math.min(this.hw[l], this.maxSlots);
      for (let h = 0; h < numKvHeads; h++) {
        this.device.queue.writeBuffer(layer.index, 2 * h * 4, Uint32Array.of(n, 0));
        if (upTo > n) this.device.queue.writeBuffer(layer.index, (this.slotPosOffset + h * this.maxSlots + n) * 4, new Int32Array(upTo - n).fill(-1));
      }
      this.hw[l] = Math.min(this.hw[l], n);
    });
  }

  /** Element offset of slot `s` of head `h` of a layer in its pools. */
  slotOffset(head: number, slot: number, layer = 0): number {
    const page = this.allocators[layer].physical(head, Math.floor(slot / this.pageSize));
    if (page === UNMAPPED || page === undefined) throw new RangeError(`slot ${slot} of head ${head} has no page`);
    return (page * this.pageSize + (slot % this.pageSize)) * this.o.headDim;
  }

  /** KV bytes allocated on the GPU now: pools, index, scores and every registered per-slot buffer. */
  bytes(): number {
    const own = this.layers.reduce((s, l) => s + l.k.size + l.v.size + l.index.size + l.score.size, 0);
    return own + [...this.slotBuffers].reduce((s, e) => s + (e.buffer?.size ?? 0), 0);
  }

  /** Bytes of the K/V pools alone. */
  poolBytesAllocated(): number {
    return this.layers.reduce((s, l) => s + l.k.size + l.v.size, 0);
  }

  /**
   * What `bytes()` reads on a fresh cache with options `o` once `tokens` tokens were appended one
   * by one with none freed: the full cache's own allocation for a context (tables and pools grown
   * geometrically), to compare a compressed cache's allocation with.
   */
  static allocatedBytesFor(o: PagedCacheOptions, tokens: number): number {
    const pageSize = o.pageSize ?? 16;
    const round = (n: number) => Math.ceil(n / pageSize) * pageSize;
    let maxSlots = round(Math.max(1, Math.min(o.initialSlots ?? (Number.isFinite(o.capacity) ? o.capacity : 64), o.capacity)));
    const a = new PageAllocator({ numHeads: o.numKvHeads, pagesPerHead: maxSlots / pageSize, initialPoolPages: (maxSlots / pageSize) * o.numKvHeads });
    a.map(a.poolPages / o.numKvHeads);
    const n = Math.min(tokens, o.capacity);
    for (let t = 1; t <= n; t++) {
      if (t > maxSlots) maxSlots = round(Math.min(o.capacity, Math.max(t, 2 * maxSlots)));
      a.setPagesPerHead(maxSlots / pageSize);
      a.map(Math.ceil(t / pageSize));
    }
    const H = o.numKvHeads;
    const indexWords = 2 * H + H * (maxSlots / pageSize) + 2 * H * maxSlots;
    const pool = Math.max(16, a.poolPages * pageSize * o.headDim * kvDtypeBytes(o.dtype ?? 'f32'));
    return o.numLayers * (2 * pool + indexWords * 4 + H * maxSlots * 4);
  }

  destroy(): void {
    for (const l of this.layers) for (const b of [l.k, l.v, l.index, l.score]) b.destroy();
    for (const e of [...this.slotBuffers]) e.release();
    this.listeners.clear();
  }
}

function growthBuffers(g: Growth): GPUBuffer[] {
  return [...g.pools.flatMap((p) => (p ? [p.k, p.v] : [])), ...(g.tables?.flatMap((t) => [t.index, t.score]) ?? []), ...g.slotBuffers.values()];
}
