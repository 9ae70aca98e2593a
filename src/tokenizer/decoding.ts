import type { StreamDecoder, Tokenizer } from './types';

/**
 * The decoding convention of types.ts, built once over `text(ids)`: a backend's decode of ids as a
 * text of their own (leading space of the first word dropped, as SentencePiece and llama2.c do at a
 * text's start). A continuation is text([...context, ...ids]) minus text(context): whatever the
 * backend does to the first token of a text lands on the context, which is cut off again.
 */
export function decoding(text: (ids: number[]) => string, bosId: number | null): Pick<Tokenizer, 'decode' | 'createDecoder'> {
  const after = (context: number[], ids: number[]) => {
    const head = text(context);
    const all = text([...context, ...ids]);
    return all.slice(commonPrefix(all, head));
  };
  const startsText = (prev: number | undefined) => prev === undefined || prev === bosId;

  return {
    decode(ids, prev) {
      let rest = [...ids];
      if (prev === undefined && rest[0] === bosId) rest = rest.slice(1);
      return startsText(prev) ? text(rest) : after([prev!], rest);
    },

    createDecoder(prev?: number): StreamDecoder {
      // Offsets as Hugging Face's text-generation-inference: ids[start, read) is context already
      // printed, ids[read, ...) is pending; text ending in U+FFFD waits for the rest of a character.
      let ids = startsText(prev) ? [] : [prev!];
      let start = 0;
      let read = ids.length;
      let first = prev === undefined;
      const emit = (force: boolean): string => {
        const head = text(ids.slice(start, read));
        const all = text(ids.slice(start));
        if (!force && (all.length <= head.length || all.endsWith('\uFFFD'))) return '';
        const piece = all.slice(commonPrefix(all, head));
        ids = ids.slice(read);
        start = 0;
        read = ids.length;
        return piece;
      };
      return {
        push(id) {
          if (first && id === bosId) {
            first = false;
            return '';
          }
          first = false;
          ids.push(id);
          return emit(false);
        },
        flush: () => emit(true),
      };
    },
  };
}

function commonPrefix(a: string, b: string): number {
  if (a.startsWith(b)) return b.length;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}
