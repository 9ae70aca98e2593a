/**
 * The paged KV cache on the GPU (layout in docs/gpu-kernels.md). Per layer: K and V pools of
 * fixed-size pages shared by the layer's KV heads; one u32 index buffer holding, per KV head,
 * `meta = {numSlots, freeCount}`, its page table, each slot's position (-1 = free) and a list of
 * freed slots (descending, so the lowest is taken first, as the CPU reference does); and each
 * slot's cumulative attention score. Slots are addressed through the page table, so a policy can
 * free a slot and the next token reuses it while nothing else moves.
 */
import { readBuffer } from '../gpu/buffers';

export interface PagedCacheOptions {
  numLayers: number;
  numKvHeads: number;
  headDim: number;
  /** Slots per KV head: the context length for the full cache, budget + one chunk under a policy. */
  capacity: number;
  pageSize?: number;
}

export interface LayerKv {
  k: GPUBuffer;
  v: GPUBuffer;
  index: GPUBuffer;
  score: GPUBuffer;
}

export interface HeadState {
  pos: Int32Array;
  score: Float32Array;
  keys: Float32Array;
  values: Float32Array;
  numSlots: number;
  freeSlots: number[];
}

export class GpuKvCache {
  readonly pageSize: number;
  readonly pagesPerHead: number;
  readonly maxSlots: number;
  readonly pageTableOffset: number;
  readonly slotPosOffset: number;
  readonly freeListOffset: number;
  readonly layers: LayerKv[];
  /** Slots ever used per head (the same for every head and layer): known without a readback. */
  highWater = 0;
  private readonly numPages: number;

  constructor(
    private readonly device: GPUDevice,
    readonly o: PagedCacheOptions,
  ) {
    this.pageSize = o.pageSize ?? 16;
    this.pagesPerHead = Math.ceil(o.capacity / this.pageSize);
    this.maxSlots = this.pagesPerHead * this.pageSize;
    this.numPages = this.pagesPerHead * o.numKvHeads;
    this.pageTableOffset = 2 * o.numKvHeads;
    this.slotPosOffset = this.pageTableOffset + o.numKvHeads * this.pagesPerHead;
    this.freeListOffset = this.slotPosOffset + o.numKvHeads * this.maxSlots;
    const poolBytes = this.numPages * this.pageSize * o.headDim * 4;
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    this.layers = Array.from({ length: o.numLayers }, (_, l) => ({
      k: device.createBuffer({ label: `k pool ${l}`, size: poolBytes, usage }),
      v: device.createBuffer({ label: `v pool ${l}`, size: poolBytes, usage }),
      index: device.createBuffer({ label: `kv index ${l}`, size: (this.freeListOffset + o.numKvHeads * this.maxSlots) * 4, usage }),
      score: device.createBuffer({ label: `kv score ${l}`, size: o.numKvHeads * this.maxSlots * 4, usage }),
    }));
    this.reset();
  }

  /**
   * Physical page of (head, logical page): pages are handed out head after head for each logical
   * page, so one head's pages are never contiguous and the indirection is exercised all the time.
   */
  physicalPage(head: number, page: number): number {
    return page * this.o.numKvHeads + head;
  }

  reset(): void {
    const { numKvHeads } = this.o;
    const index = new Int32Array(this.freeListOffset + numKvHeads * this.maxSlots);
    for (let h = 0; h < numKvHeads; h++)
      for (let j = 0; j < this.pagesPerHead; j++) index[this.pageTableOffset + h * this.pagesPerHead + j] = this.physicalPage(h, j);
    index.fill(-1, this.slotPosOffset, this.freeListOffset);
    for (const layer of this.layers) {
      this.device.queue.writeBuffer(layer.index, 0, index);
      this.device.queue.writeBuffer(layer.score, 0, new Float32Array(numKvHeads * this.maxSlots));
    }
    this.highWater = 0;
  }

  /**
   * Marks the first `tokens` slots of every head live at positions 0..tokens-1, leaving their K/V
   * as they are. Benchmarks use it to time decoding at a context length without prefilling it
   * (speed does not depend on the values).
   */
  markFilled(tokens: number): void {
    const { numKvHeads } = this.o;
    for (const layer of this.layers)
      for (let h = 0; h < numKvHeads; h++) {
        this.device.queue.writeBuffer(layer.index, 2 * h * 4, Uint32Array.of(tokens, 0));
        this.device.queue.writeBuffer(layer.index, (this.slotPosOffset + h * this.maxSlots) * 4, Int32Array.from({ length: tokens }, (_, i) => i));
      }
    this.highWater = tokens;
  }

  /** Frees slots of one head as a policy does (tests use it; policies do it on the GPU). */
  async freeSlots(layer: number, head: number, slots: number[]): Promise<void> {
    const L = this.layers[layer];
    const index = new Int32Array(await readBuffer(this.device, L.index));
    const free = Array.from(index.subarray(this.freeListOffset + head * this.maxSlots, this.freeListOffset + head * this.maxSlots + index[2 * head + 1]));
    for (const s of slots) {
      index[this.slotPosOffset + head * this.maxSlots + s] = -1;
      free.push(s);
    }
    free.sort((a, b) => b - a);
    index.set(free, this.freeListOffset + head * this.maxSlots);
    index[2 * head + 1] = free.length;
    this.device.queue.writeBuffer(L.index, 0, index);
  }

  /** Overrides a head's page table (tests use it to prove that nothing assumes contiguity). */
  setPageTable(layer: number, head: number, pages: number[]): void {
    this.device.queue.writeBuffer(this.layers[layer].index, (this.pageTableOffset + head * this.pagesPerHead) * 4, Uint32Array.from(pages));
  }

  /** KV bytes allocated on the GPU (pools, index, scores). */
  bytes(): number {
    return this.layers.reduce((s, l) => s + l.k.size + l.v.size + l.index.size + l.score.size, 0);
  }

  /** What a full f32 cache holding `tokens` tokens would take (K and V only). */
  static fullCacheBytes(o: Omit<PagedCacheOptions, 'capacity'>, tokens: number): number {
    return o.numLayers * o.numKvHeads * tokens * o.headDim * 2 * 4;
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
      const page = index[this.pageTableOffset + head * this.pagesPerHead + Math.floor(s / this.pageSize)];
      const base = (page * this.pageSize + (s % this.pageSize)) * headDim;
      keys.set(kPool.subarray(base, base + headDim), s * headDim);
      values.set(vPool.subarray(base, base + headDim), s * headDim);
    }
    return {
      pos: index.slice(this.slotPosOffset + head * this.maxSlots, this.slotPosOffset + (head + 1) * this.maxSlots),
      score,
      keys,
      values,
      numSlots: index[2 * head],
      freeSlots: Array.from(index.subarray(this.freeListOffset + head * this.maxSlots, this.freeListOffset + head * this.maxSlots + index[2 * head + 1])),
    };
  }

  destroy(): void {
    for (const l of this.layers) for (const b of [l.k, l.v, l.index, l.score]) b.destroy();
  }
}
