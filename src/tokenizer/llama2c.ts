/**
 * llama2.c's tokenizer.bin (int32 max_token_length, then per token: float32 score, int32 length,
 * bytes) and the score-based BPE of `encode()`/`decode()` in its run.c.
 * Pieces are kept as "binary" strings (one char per byte) so that lookups and merges compare bytes,
 * as run.c's strcmp does, whatever the pieces' UTF-8.
 */
import { ModelFormatError } from '../errors';
import { plainChat } from './plain-chat';
import { decoding } from './decoding';
import type { Tokenizer } from './types';

const BOS = 1;
const EOS = 2;
/** SentencePiece layout: ids 3..258 are the byte tokens <0x00>..<0xFF>. */
const BYTE0 = 3;

const binary = (b: Uint8Array) => String.fromCharCode(...b);
const utf8 = new TextEncoder();

export function llama2cTokenizer(bytes: Uint8Array, vocabSize: number, eosIds: number[] = []): Tokenizer {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bad = (msg: string) => new ModelFormatError('truncated', msg, 'tokenizer.bin');
  if (bytes.byteLength < 4) throw bad('no header');
  const pieces: string[] = [];
  const scores = new Float32Array(vocabSize);
  let off = 4;
  for (let i = 0; i < vocabSize; i++) {
    if (off + 8 > bytes.byteLength) throw bad(`ends at token ${i} of ${vocabSize}`);
    scores[i] = dv.getFloat32(off, true);
    const len = dv.getInt32(off + 4, true);
    off += 8;
    if (len < 0 || off + len > bytes.byteLength) throw bad(`ends inside token ${i}`);
    pieces.push(binary(bytes.subarray(off, off + len)));
    off += len;
  }
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
    // Merge the best-scoring adjacent pair (leftmost on ties, score above -1e10) until none is a piece.
    const pairId = (i: number) => lookup.get(pieces[tokens[i]] + pieces[tokens[i + 1]]) ?? -1;
    const pairs = tokens.slice(0, -1).map((_, i) => pairId(i));
    for (;;) {
      let best = -1e10;
      let at = -1;
      for (let i = 0; i < pairs.length; i++) {
        if (pairs[i] >= 0 && scores[pairs[i]] > best) {
          best = scores[pairs[i]];
          at = i;
        }
      }
      if (at < 0) return tokens;
      tokens.splice(at, 2, pairs[at]);
      pairs.splice(at, 1);
      if (at > 0) pairs[at - 1] = pairId(at - 1);
      if (at < pairs.length) pairs[at] = pairId(at);
    }
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
