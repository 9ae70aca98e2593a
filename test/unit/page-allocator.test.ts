import { describe, expect, it } from 'vitest';
import { PageAllocator, UNMAPPED } from '../../src/gpu/page-allocator';

const mappedPages = (a: PageAllocator) => a.tables.flatMap((t) => Array.from(t.subarray(0, a.mapped)));

describe('PageAllocator (CPU side of the paged KV cache)', () => {
  it('maps logical pages head after head, lowest physical page first (interleaved, never contiguous)', () => {
    const a = new PageAllocator({ numHeads: 3, pagesPerHead: 4, initialPoolPages: 12 });
    expect(a.map(4)).toEqual({ from: 0, to: 4, poolPages: 12, grew: false });
    for (let h = 0; h < 3; h++) for (let j = 0; j < 4; j++) expect(a.physical(h, j)).toBe(j * 3 + h);
  });

  it('maps lazily and only forwards: pages already mapped never move', () => {
    const a = new PageAllocator({ numHeads: 2, pagesPerHead: 6, initialPoolPages: 12 });
    a.map(2);
    const before = a.tables.map((t) => Array.from(t));
    expect(a.map(1)).toMatchObject({ from: 2, to: 2, grew: false });
    expect(a.map(3)).toMatchObject({ from: 2, to: 3 });
    a.tables.forEach((t, h) => expect(Array.from(t.subarray(0, 2))).toEqual(before[h].slice(0, 2)));
    expect(a.tables[0][3]).toBe(UNMAPPED);
  });

  it('grows the pool geometrically when short, never past numHeads * pagesPerHead', () => {
    const a = new PageAllocator({ numHeads: 2, pagesPerHead: 5, initialPoolPages: 2 });
    expect(a.map(1)).toEqual({ from: 0, to: 1, poolPages: 2, grew: false });
    expect(a.map(2)).toEqual({ from: 1, to: 2, poolPages: 4, grew: true });
    expect(a.map(3)).toEqual({ from: 2, to: 3, poolPages: 8, grew: true });
    expect(a.map(4)).toEqual({ from: 3, to: 4, poolPages: 8, grew: false });
    expect(a.map(5)).toEqual({ from: 4, to: 5, poolPages: 10, grew: true });
    // Past the capacity: nothing more is mapped and the pool stays at its cap.
    expect(a.map(50)).toEqual({ from: 5, to: 5, poolPages: 10, grew: false });
    expect(new Set(mappedPages(a)).size).toBe(10);
    expect(Math.max(...mappedPages(a))).toBe(9);
  });

  it('starts from an empty pool', () => {
    const a = new PageAllocator({ numHeads: 4, pagesPerHead: 3, initialPoolPages: 0 });
    expect(a.map(1)).toEqual({ from: 0, to: 1, poolPages: 4, grew: true });
    expect(a.pagesFor(0, 16)).toBe(0);
    expect(a.pagesFor(1, 16)).toBe(1);
    expect(a.pagesFor(33, 16)).toBe(3);
    expect(a.pagesFor(10_000, 16)).toBe(3);
  });

  it('with a seed hands out a deterministic permutation of the pool (for the same sequence of calls)', () => {
    const make = () => new PageAllocator({ numHeads: 4, pagesPerHead: 8, initialPoolPages: 8, seed: 42 });
    const a = make();
    const b = make();
    for (const x of [a, b]) {
      x.map(3);
      x.map(8);
    }
    expect(mappedPages(a)).toEqual(mappedPages(b));
    const pages = mappedPages(a);
    expect([...pages].sort((x, y) => x - y)).toEqual(Array.from({ length: 32 }, (_, i) => i));
    const plain = new PageAllocator({ numHeads: 4, pagesPerHead: 8, initialPoolPages: 8 });
    plain.map(8);
    expect(pages).not.toEqual(mappedPages(plain));
  });

  it('reset unmaps everything and keeps the pool size; mapping again is the same as fresh', () => {
    for (const seed of [undefined, 7]) {
      const a = new PageAllocator({ numHeads: 2, pagesPerHead: 4, initialPoolPages: 2, seed });
      a.map(4);
      const first = mappedPages(a);
      a.reset();
      expect(a.mapped).toBe(0);
      expect(a.poolPages).toBe(8);
      expect(a.tables.every((t) => t.every((p) => p === UNMAPPED))).toBe(true);
      expect(a.map(4).grew).toBe(false);
      if (seed === undefined) expect(mappedPages(a)).toEqual(first);
      expect(new Set(mappedPages(a)).size).toBe(8);
    }
  });

  it('rejects a cache without heads or pages', () => {
    expect(() => new PageAllocator({ numHeads: 0, pagesPerHead: 4, initialPoolPages: 0 })).toThrow(RangeError);
    expect(() => new PageAllocator({ numHeads: 2, pagesPerHead: 0, initialPoolPages: 0 })).toThrow(RangeError);
  });
});
