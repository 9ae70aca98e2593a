import type { StreamDecoder } from './types';

/**
 * Streams text by decoding a growing window of ids and emitting what is new, as transformers'
 * TextStreamer does: text ending in U+FFFD waits for the rest of its bytes, and the window restarts
 * after a newline so the cost stays linear.
 */
export function windowedDecoder(decode: (ids: number[], prev?: number) => string, prev?: number): StreamDecoder {
  let ids: number[] = [];
  let emitted = 0;
  let before = prev;
  return {
    push(id) {
      ids.push(id);
      const text = decode(ids, before);
      if (text.endsWith('\uFFFD')) return '';
      const piece = text.slice(emitted);
      if (text.endsWith('\n')) {
        before = id;
        ids = [];
        emitted = 0;
      } else emitted = text.length;
      return piece;
    },
    flush() {
      const text = decode(ids, before).slice(emitted);
      ids = [];
      emitted = 0;
      return text;
    },
  };
}
