import { expect } from 'vitest';
import type { Tokenizer } from '../../src/tokenizer';

/** Decodes `ids` through the streaming decoder; no piece may end in a split character. */
export function streamDecode(t: Tokenizer, ids: number[], prev?: number): string {
  const d = t.createDecoder(prev);
  let out = '';
  for (const id of ids) {
    const piece = d.push(id);
    expect(piece).not.toMatch(/\uFFFD$/);
    out += piece;
  }
  return out + d.flush();
}
