/**
 * CPU-side page bookkeeping of the paged KV cache (docs/gpu-kernels.md, "Paged KV cache"): which
 * physical page of a layer's K/V pools holds logical page `j` of KV head `h`. It is driven only by
 * the high-water mark of slots, which the CPU knows from the token count (no readback), and is the
 * same for every layer, so one allocator serves the whole model.
 *
 * - Logical pages are mapped in order, for every head at once (heads grow in lockstep: every head
 *   receives every token); a mapped page stays mapped until `reset`, so a slot a policy frees and
 *   the next token reuses never moves.
 * - Physical pages are handed out lowest first, head after head for each logical page, so a head's
 *   pages are interleaved with the other heads' (never contiguous: the indirection is always used).
 *   With a `seed` they are handed out in a seeded pseudo-random order instead (tests).
 * - When the pool has no free page left it grows to max(needed, 2 x its size) pages, capped at
 *   `numHeads * pagesPerHead` (the capacity): a capped cache never grows past its cap, and growth
 *   is geometric, so reallocations are rare (log2 of the capacity at most).
 * - The limit can be changed later (`setPagesPerHead`): raised as the slot tables of a cache grow
 *   with its context, lowered to a layer's budget plus a chunk once the policy knows it.
 */
import { xorshift } from '../util/xorshift';
export interface PageAllocatorOptions {
  numHeads: number;
  /** Logical pages per head at most: ceil(capacity / pageSize). */
  pagesPerHead: number;
  /** Physical pages the pool holds at the start (clamped to [0, numHeads * pagesPerHead]). */
  initialPoolPages: number;
  /** Hand out physical pages in a seeded pseudo-random order (tests: nothing may assume contiguity). */
  seed?: number;
}

export interface MapResult {
  /** Logical pages [from, to) of every head were mapped by this call. */
  from: number;
  to: number;
  /** The pool's size in pages after the call; `grew` when it is larger than before. */
  poolPages: number;
  grew: boolean;
}

export const UNMAPPED = 0xffffffff;

export class PageAllocator {
  /** tables[h][j]: physical page of logical page j of head h (UNMAPPED past `mapped`). */
  tables: Uint32Array[];
  /** Logical pages per head at most, and the pool's cap (numHeads times that). */
  pagesPerHead: number;
  maxPoolPages: number;
  /** Logical pages mapped per head. */
  mapped = 0;
  /** Physical pages the pool holds. */
  poolPages: number;
  private readonly initialPoolPages: number;
  /** Free physical pages, the next one at the end. */
  private free: number[] = [];
  private rand: (() => number) | null = null;

  constructor(readonly o: PageAllocatorOptions) {
    if (!(o.numHeads >= 1 && o.pagesPerHead >= 1)) throw new RangeError(`a page allocator needs heads and pages (got ${o.numHeads} heads, ${o.pagesPerHead} pages per head)`);
    this.pagesPerHead = o.pagesPerHead;
    this.maxPoolPages = o.numHeads * o.pagesPerHead;
    this.initialPoolPages = Math.max(0, Math.min(this.maxPoolPages, Math.floor(o.initialPoolPages)));
    this.poolPages = this.initialPoolPages;
    this.tables = Array.from({ length: o.numHeads }, () => new Uint32Array(o.pagesPerHead).fill(UNMAPPED));
    this.reset();
  }

  /** Unmaps everything; the pool keeps its size (memory is not given back). */
  reset(): void {
    for (const t of this.tables) t.fill(UNMAPPED);
    this.mapped = 0;
    this.rand = this.o.seed === undefined ? null : xorshift(this.o.seed);
    this.free = [];
    this.addFree(0, this.poolPages);
  }

  /**
   * Sets the logical pages per head (never below those mapped) and with it the pool's cap (never
   * below its size): raised as a cache's context grows, lowered to a layer's budget plus a chunk.
   */
  setPagesPerHead(pages: number): void {
    const limit = Math.max(pages, this.mapped);
    if (limit > this.tables[0].length)
      this.tables = this.tables.map((t) => {
        const grown = new Uint32Array(limit).fill(UNMAPPED);
        grown.set(t);
        return grown;
      });
    this.pagesPerHead = limit;
    this.maxPoolPages = Math.max(this.poolPages, this.o.numHeads * limit);
  }

  /** Logical pages per head needed for `slots` slots. */
  pagesFor(slots: number, pageSize: number): number {
    return Math.min(this.pagesPerHead, Math.ceil(Math.max(0, slots) / pageSize));
  }

  /** The pool's size after `setPagesPerHead(limit)` then `map(pages)` (it grows only when short). */
  poolPagesFor(pages: number, limit = this.pagesPerHead): number {
    const perHead = Math.max(limit, this.mapped);
    const maxPool = Math.max(this.poolPages, this.o.numHeads * perHead);
    const needed = Math.min(perHead, Math.max(this.mapped, Math.floor(pages))) * this.o.numHeads;
    return needed > this.poolPages ? Math.min(maxPool, Math.max(needed, 2 * this.poolPages)) : this.poolPages;
  }

  /** Maps logical pages [mapped, pages) of every head, growing the pool first when it is short. */
  map(pages: number): MapResult {
    const to = Math.min(this.pagesPerHead, Math.max(this.mapped, Math.floor(pages)));
    const from = this.mapped;
    let grew = false;
    const size = this.poolPagesFor(pages);
    if (size > this.poolPages) {
      this.addFree(this.poolPages, size);
      this.poolPages = size;
      grew = true;
    }
    for (let j = from; j < to; j++) for (let h = 0; h < this.o.numHeads; h++) this.tables[h][j] = this.free.pop()!;
    this.mapped = to;
    return { from, to, poolPages: this.poolPages, grew };
  }

  /** Physical page of logical page `page` of head `head` (UNMAPPED when not mapped). */
  physical(head: number, page: number): number {
    return this.tables[head][page];
  }

  /** Free physical pages [lo, hi), handed out lowest first (or shuffled with a seed). */
  private addFree(lo: number, hi: number): void {
    const pages = Array.from({ length: hi - lo }, (_, i) => lo + i);
    if (this.rand) {
      for (let i = pages.length - 1; i > 0; i--) {
        const j = Math.floor(this.rand() * (i + 1));
        [pages[i], pages[j]] = [pages[j], pages[i]];
      }
    }
    // `free` pops from the end: put the pages to hand out first last, ahead of older free pages.
    this.free = [...pages.reverse(), ...this.free];
  }
}
