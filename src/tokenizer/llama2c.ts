/** llama2.c's tokenizer.bin and its score-based BPE, as `encode`/`decode` in run.c. */
import { ModelFormatError } from '../errors';
import type { ChatMessage, Tokenizer } from './types';
import { windowedDecoder } from './stream-decoder';

export function llama2cTokenizer(bytes: Uint8Array, vocabSize: number): Tokenizer {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const vocab: string[] = [];
  const pieces: Uint8Array[] = [];
  const scores = new Float32Array(vocabSize);
  const utf8 = new TextDecoder();
  let off = 4;
  for (let i = 0; i < vocabSize; i++) {
    if (off + 8 > bytes.byteLength) throw new ModelFormatError('truncated', `tokenizer ends at token ${i} of ${vocabSize}`, 'tokenizer.bin');
    scores[i] = dv.getFloat32(off, true);
    const len = dv.getInt32(off + 4, true);
    off += 8;
    if (len < 0 || off + len > bytes.byteLength) throw new ModelFormatError('truncated', `tokenizer ends inside token ${i}`, 'tokenizer.bin');
    pieces.push(bytes.subarray(off, off + len));
    vocab.push(utf8.decode(bytes.subarray(off, off + len)));
    off += len;
  }
  const lookup = new Map<string, number>();
  vocab.forEach((s, i) => lookup.has(s) || lookup.set(s, i));

  /** Bytes of one token; "<0xXX>" pieces are raw bytes, and a leading space is dropped after BOS. */
  const tokenBytes = (id: number, prev: number | undefined): Uint8Array => {
    let p = pieces[id];
    if (prev === 1 && p[0] === 0x20) p = p.subarray(1);
    const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(vocab[id]);
    return m ? Uint8Array.of(parseInt(m[1], 16)) : p;
  };
  const decode = (ids: readonly number[], prev?: number): string => {
    const parts: Uint8Array[] = [];
    let before = prev;
    for (const id of ids) {
      parts.push(tokenBytes(id, before));
      before = id;
    }
    const all = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
    let o = 0;
    for (const p of parts) {
      all.set(p, o);
      o += p.length;
    }
    return utf8.decode(all);
  };

  const encode = (text: string, opts: { addBos?: boolean } = {}): number[] => {
    const tokens: number[] = [];
    if (opts.addBos ?? true) tokens.push(1);
    if (text.length > 0) tokens.push(lookup.get(' ')!);
    // Each code point becomes its token, or its UTF-8 bytes as byte tokens (id = byte + 3).
    for (const ch of text) {
      const id = lookup.get(ch);
      if (id !== undefined) tokens.push(id);
      else for (const b of new TextEncoder().encode(ch)) tokens.push(b + 3);
    }
    // Merge the best-scoring adjacent pair until none is in the vocabulary.
    for (;;) {
      let best = -1e10;
      let bestId = -1;
      let bestIdx = -1;
      for (let i = 0; i < tokens.length - 1; i++) {
        const id = lookup.get(vocab[tokens[i]] + vocab[tokens[i + 1]]);
        if (id !== undefined && scores[id] > best) {
          best = scores[id];
          bestId = id;
          bestIdx = i;
        }
      }
      if (bestIdx < 0) break;
      tokens.splice(bestIdx, 2, bestId);
    }
    return tokens;
  };

  return {
    vocabSize,
    bosId: 1,
    eosIds: [2],
    encode,
    decode,
    createDecoder: (prev?: number) => windowedDecoder(decode, prev),
    applyChatTemplate: (messages: readonly ChatMessage[]) => messages.map((m) => m.content).join('\n'),
  };
}
