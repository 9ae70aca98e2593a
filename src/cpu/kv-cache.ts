/**
 * The CPU reference KV cache: per layer and KV head, a table of slots. A slot holds one token's
 * (post-RoPE) key and value, its position and its cumulative attention score. Slots are freed and
 * reused in place, as the paged GPU cache does, so KV policies behave the same on both. Keys and
 * values are stored rounded to the cache's dtype (`round`), as the GPU stores them.
 */
import { kvDtypeBytes, kvRounding, type KvDtype } from '../kv/dtype';

export class HeadSlots {
  keys: Float32Array;
  values: Float32Array;
  /** Position of the token in a slot, -1 when the slot is free. */
  pos: Int32Array;
  /** Cumulative attention received, summed over the KV head's query group. */
  score: Float32Array;
  /** Evicted tokens merged into the slot (for the KV map). */
  absorbed: Uint32Array;
  capacity = 0;
  /** What storing a value leaves (identity for f32, the nearest half for f16). */
  readonly round: (x: number) => number;

  constructor(
    readonly headDim: number,
    capacity = HeadSlots.INITIAL,
    readonly dtype: KvDtype = 'f32',
  ) {
    this.round = kvRounding(dtype);
    this.keys = new Float32Array(0);
    this.values = new Float32Array(0);
    this.pos = new Int32Array(0);
    this.score = new Float32Array(0);
    this.absorbed = new Uint32Array(0);
    this.grow(capacity);
  }

  static readonly INITIAL = 16;

  /** The capacity a table that started empty has after `tokens` appends with no free slot (it doubles). */
  static capacityFor(tokens: number): number {
    let c = HeadSlots.INITIAL;
    while (c < tokens) c *= 2;
    return c;
  }

  private grow(capacity: number): void {
    const d = this.headDim;
    const keys = new Float32Array(capacity * d);
    const values = new Float32Array(capacity * d);
    const pos = new Int32Array(capacity).fill(-1);
    const score = new Float32Array(capacity);
    const absorbed = new Uint32Array(capacity);
    keys.set(this.keys);
    values.set(this.values);
    pos.set(this.pos);
    score.set(this.score);
    absorbed.set(this.absorbed);
    Object.assign(this, { keys, values, pos, score, absorbed, capacity });
  }

  /** Stores a token in the lowest free slot (growing the table if none) and returns the slot. */
  append(key: Float32Array, value: Float32Array, position: number): number {
    let slot = this.pos.indexOf(-1);
    if (slot < 0) {
      slot = this.capacity;
      this.grow(Math.max(HeadSlots.INITIAL, this.capacity * 2));
    }
    const at = slot * this.headDim;
    for (let i = 0; i < this.headDim; i++) {
      this.keys[at + i] = this.round(key[i]);
      this.values[at + i] = this.round(value[i]);
    }
    this.pos[slot] = position;
    this.score[slot] = 0;
    this.absorbed[slot] = 0;
    return slot;
  }

  free(slot: number): void {
    this.pos[slot] = -1;
    this.score[slot] = 0;
    this.absorbed[slot] = 0;
  }

  /** Frees every slot holding a position >= `length` (the full cache, cut back to a shorter context). */
  truncate(length: number): void {
    for (let s = 0; s < this.capacity; s++) if (this.pos[s] >= length) this.free(s);
  }

  /** Occupied slots in slot order. */
  occupied(): number[] {
    const out: number[] = [];
    for (let s = 0; s < this.capacity; s++) if (this.pos[s] >= 0) out.push(s);
    return out;
  }

  get length(): number {
    let n = 0;
    for (let s = 0; s < this.capacity; s++) if (this.pos[s] >= 0) n++;
    return n;
  }
}

export class CpuKvCache {
  /** heads[layer][kvHead] */
  readonly heads: HeadSlots[][];

  constructor(
    numLayers: number,
    numKvHeads: number,
    readonly headDim: number,
    readonly dtype: KvDtype = 'f32',
  ) {
    this.heads = Array.from({ length: numLayers }, () =>
      Array.from({ length: numKvHeads }, () => new HeadSlots(headDim, HeadSlots.INITIAL, dtype)),
    );
  }

  /** K and V bytes the tables allocate now. */
  bytesAllocated(): number {
    return this.heads.flat().reduce((s, h) => s + h.capacity * this.headDim * 2 * kvDtypeBytes(this.dtype), 0);
  }

  /** What a fresh cache of this shape allocates after `tokens` appends with nothing evicted (the full cache). */
  bytesAllocatedFor(tokens: number): number {
    return this.heads.flat().length * HeadSlots.capacityFor(tokens) * this.headDim * 2 * kvDtypeBytes(this.dtype);
  }
}
