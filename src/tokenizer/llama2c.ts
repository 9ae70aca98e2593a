/**
 * llama2.c's tokenizer.bin (int32 max_token_length, then per token: float32 score, int32 length,
 * bytes) and the score-based BPE of `encode()`/`decode()` in its run.c.
 * Pieces are kept as "binary" strings (one char per byte) so that lookups and merges compare bytes,
 * as run.c's strcmp does, whatever the pieces' UTF-8.
 */
import { ModelFormatError } from '../errors';
import { plainChat } from './plain-chat';
import { decoding } from './decoding';
import { readLlama2cVocab } from '../model/llama2c';
import type { Tokenizer } from './types';

const BOS = 1;
const EOS = 2;
/** SentencePiece layout: ids 3..258 are the byte tokens <0x00>..<0xFF>. */
const BYTE0 = 3;

/** One char per byte; in pieces, since spreading a long array overflows the call stack. */
function binary(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 4096) s += String.fromCharCode(...b.subarray(i, i + 4096));
  return s;
}

/**
 * run.c's merge rule: repeatedly merge the adjacent pair whose merged piece scores best (leftmost
 * on ties, score above -1e10) until no pair is a piece. run.c rescans every pair per merge, which
 * is quadratic; here a heap of candidate pairs over a linked list of tokens gives the same merges
 * in O(n log n). `pairId(a, b)` is the id of the merged piece, or -1.
 */
export function mergeByScore(tokens: number[], scores: Float32Array, pairId: (a: number, b: number) => number): number[] {
  const n = tokens.length;
  const id = Int32Array.from(tokens);
  const next = Int32Array.from({ length: n }, (_, i) => i + 1);
  const prev = Int32Array.from({ length: n }, (_, i) => i - 1);
  // Bumped whenever a token changes or goes, so queued pairs that involve it are known stale.
  const version = new Int32Array(n);
  // A max-heap of [score, left, right, merged id, left version, right version], leftmost first on ties.
  type Pair = [number, number, number, number, number, number];
  const heap: Pair[] = [];
  const before = (a: Pair, b: Pair) => a[0] > b[0] || (a[0] === b[0] && a[1] < b[1]);
  const push = (l: number) => {
    const r = next[l];
    if (l < 0 || r >= n) return;
    const m = pairId(id[l], id[r]);
    if (m < 0 || !(scores[m] > -1e10)) return;
    const p: Pair = [scores[m], l, r, m, version[l], version[r]];
    let i = heap.push(p) - 1;
    while (i > 0 && before(p, heap[(i - 1) >> 1])) {
      heap[i] = heap[(i - 1) >> 1];
      i = (i - 1) >> 1;
    }
    heap[i] = p;
  };
  const pop = (): Pair => {
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length) {
      let i = 0;
      for (;;) {
        const c = 2 * i + 1;
        if (c >= heap.length) break;
        const best = c + 1 < heap.length && before(heap[c + 1], heap[c]) ? c + 1 : c;
        if (!before(heap[best], last)) break;
        heap[i] = heap[best];
        i = best;
      }
      heap[i] = last;
    }
    return top;
  };
  for (let i = 0; i + 1 < n; i++) push(i);
  while (heap.length) {
    const [, l, r, m, vl, vr] = pop();
    if (version[l] !== vl || version[r] !== vr || next[l] !== r) continue;
    id[l] = m;
    version[l]++;
    version[r]++;
    next[l] = next[r];
    if (next[r] < n) prev[next[r]] = l;
    push(prev[l]);
    push(l);
  }
  const out: number[] = [];
  for (let i = 0; i < n; i = next[i]) out.push(id[i]);
  return out;
}
const utf8 = new TextEncoder();

export function llama2cTokenizer(bytes: Uint8Array, vocabSize: number, eosIds: number[] = []): Tokenizer {
  // Byte fallback emits ids 3..258: a smaller vocabulary would send ids past the embeddings.
  if (!Number.isInteger(vocabSize) || vocabSize < BYTE0 + 256)
    throw new ModelFormatError('bad-config', `a llama2.c tokenizer needs the 256 byte tokens at ids ${BYTE0}..${BYTE0 + 255}; the model's vocabulary has ${vocabSize}`, 'tokenizer.bin');
  const vocab = readLlama2cVocab(bytes, vocabSize);
  const pieces = vocab.pieces.map(binary);
  const scores = vocab.scores;
  const lookup = new Map<string, number>();
  pieces.forEach((p, i) => lookup.has(p) || lookup.set(p, i));
  // run.c: sscanf(piece, "<0x%02hhX>") turns a raw-byte piece into that byte.
  const rawByte = pieces.map((p) => /^<0x([0-9A-Fa-f]{2})>$/.exec(p)).map((m) => (m ? String.fromCharCode(parseInt(m[1], 16)) : null));

  const encode = (text: string, opts: { addBos?: boolean } = {}): number[] => {
    const tokens: number[] = [];
    if (opts.addBos ?? true) tokens.push(BOS);
    const b = utf8.encode(text); // run.c stops at a NUL byte; here it becomes the byte token <0x00>
    if (b.length > 0) tokens.push(lookup.get(' ') ?? BYTE0 + 0x20); // the dummy prefix
    // One UTF-8 code point (a lead byte and at most 3 continuation bytes) at a time: its piece, or its bytes.
    for (let i = 0; i < b.length; ) {
      let j = i + 1;
      while (j < b.length && (b[j] & 0xc0) === 0x80 && j - i < 4) j++;
      const id = lookup.get(binary(b.subarray(i, j)));
      if (id !== undefined) tokens.push(id);
      else for (let k = i; k < j; k++) tokens.push(b[k] + BYTE0);
      i = j;
    }
    return mergeByScore(tokens, scores, (a, b) => lookup.get(pieces[a] + pieces[b]) ?? -1);
  };

  /** run.c decode(prev, token) over a sequence: a space after BOS is dropped, and at the text's start. */
  const text = (ids: number[]): string => {
    let s = '';
    ids.forEach((id, i) => {
      let p = pieces[id] ?? '';
      if ((i === 0 || ids[i - 1] === BOS) && p[0] === ' ') p = p.slice(1);
      s += rawByte[id] ?? p;
    });
    return new TextDecoder().decode(Uint8Array.from(s, (c) => c.charCodeAt(0)));
  };

  return {
    vocabSize,
    bosId: BOS,
    eosIds: [...new Set([EOS, ...eosIds])],
    encode,
    ...decoding(text, BOS),
    hasChatTemplate: false,
    applyChatTemplate: plainChat,
  };
}
