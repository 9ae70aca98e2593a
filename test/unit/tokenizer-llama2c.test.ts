import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ModelFormatError } from '../../src/errors';
import { createTokenizer } from '../../src/tokenizer';
import { rng } from '../cases/random';
import { golden, stories260K } from '../helpers/models';
import { streamDecode } from '../helpers/tokenizer';

const bytes = new Uint8Array(readFileSync(stories260K.tokenizer));
const tok = createTokenizer({ kind: 'llama2c', bytes, vocabSize: 512 });
const g = golden.stories260K;

function texts(n: number, seed: number): string[] {
  const r = rng(seed);
  const parts = ['Once', ' upon', ' a', ' time', 'Lily', ' ', '   ', '\n', '\n\n', '\t', '!', '"', "'", '42', '3.14', 'é', '中文', '🙂', '👍🏽', 'naïve', '—', '\u00a0', ',', '.', '<s>', '<0x41>'];
  return Array.from({ length: n }, () => Array.from({ length: 1 + Math.floor(r() * 16) }, () => parts[Math.floor(r() * parts.length)]).join(''));
}


describe('llama2.c tokenizer (stories260K tok512.bin)', () => {
  it('reads the header facts', () => {
    expect([tok.vocabSize, tok.bosId, tok.eosIds]).toEqual([512, 1, [2]]);
    expect(createTokenizer({ kind: 'llama2c', bytes, vocabSize: 512 }, [1]).eosIds).toEqual([2, 1]);
  });

  it('decodes the golden ids to the golden text: leading BOS prints nothing, the final BOS prints "\\n<s>\\n"', () => {
    expect(g.text.endsWith('\n<s>\n')).toBe(true);
    expect(tok.decode(g.greedy_ids)).toBe(g.text);
    expect(tok.decode(g.greedy_ids.slice(1), 1)).toBe(g.text);
    expect(tok.decode([1])).toBe('');
    expect(tok.decode([1], 1)).toBe('\n<s>\n');
  });

  it('encodes like run.c: BOS, dummy prefix, best-score merges (the golden story re-encodes to its ids)', () => {
    expect(tok.encode('Once upon a time')).toEqual(g.greedy_ids.slice(0, 5));
    expect(tok.encode(g.text.slice(0, -'\n<s>\n'.length))).toEqual(g.greedy_ids.slice(0, -1));
    expect(tok.encode('')).toEqual([1]);
    expect(tok.encode('', { addBos: false })).toEqual([]);
    expect(tok.encode('Once', { addBos: false })).toEqual(tok.encode('Once').slice(1));
  });

  it('falls back to byte tokens (byte + 3) for code points outside the vocabulary', () => {
    const ids = tok.encode('🙂', { addBos: false });
    expect(ids.slice(-4)).toEqual([0xf0, 0x9f, 0x99, 0x82].map((b) => b + 3));
    expect(tok.decode(ids)).toBe('🙂');
  });

  it('round-trips ordinary and unusual text', () => {
    for (const text of ['Lily went to the park.', '  leading spaces', 'tabs\tand\nnewlines\n', ...texts(300, 1)]) {
      expect(tok.decode(tok.encode(text)), JSON.stringify(text)).toBe(text);
      expect(tok.decode(tok.encode(text, { addBos: false })), JSON.stringify(text)).toBe(text);
    }
  });

  it('decodes a continuation after `prev`, keeping its leading space', () => {
    const ids = tok.encode('Once upon a time there was a dog.');
    for (let k = 1; k < ids.length; k++) {
      expect(tok.decode(ids.slice(0, k)) + tok.decode(ids.slice(k), ids[k - 1])).toBe(tok.decode(ids));
    }
  });

  it('streams pieces that concatenate to decode(), never ending a piece inside a character', () => {
    expect(streamDecode(tok, g.greedy_ids)).toBe(g.text);
    expect(streamDecode(tok, g.greedy_ids.slice(1), 1)).toBe(g.text);
    for (const text of texts(100, 2)) {
      const ids = tok.encode(text);
      expect(streamDecode(tok, ids)).toBe(text);
      expect(streamDecode(tok, ids.slice(3), ids[2])).toBe(tok.decode(ids.slice(3), ids[2]));
    }
    // Any ids at all, invalid UTF-8 included.
    const r = rng(3);
    for (let n = 0; n < 300; n++) {
      const ids = Array.from({ length: 1 + Math.floor(r() * 24) }, () => (r() < 0.6 ? 3 + Math.floor(r() * 256) : Math.floor(r() * 512)));
      const d = tok.createDecoder();
      expect(ids.map((id) => d.push(id)).join('') + d.flush()).toBe(tok.decode(ids));
    }
  });

  it('has no chat template: messages become plain text to continue', () => {
    expect(tok.applyChatTemplate([{ role: 'user', content: 'Once upon a time' }, { role: 'user', content: 'Lily' }])).toBe('Once upon a time\nLily');
  });

  it('rejects a truncated tokenizer.bin', () => {
    expect(() => createTokenizer({ kind: 'llama2c', bytes: bytes.subarray(0, 1000), vocabSize: 512 })).toThrow(ModelFormatError);
    expect(() => createTokenizer({ kind: 'llama2c', bytes: bytes.subarray(0, 2), vocabSize: 512 })).toThrow(ModelFormatError);
  });
});
