/** safetensors: tensors are views into the file, and every corruption gets its typed error. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UnsupportedModelError } from '../../src/errors';
import { parseSafetensors } from '../../src/model/safetensors';
import { expectFormatError, safetensorsBytes, safetensorsOf, f32Bytes, type RawEntry } from '../fixtures/model-builders';
import { tinystories656k } from '../helpers/models';

const ok: Record<string, RawEntry> = {
  a: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] },
  b: { dtype: 'F16', shape: [4], data_offsets: [16, 24] },
};

describe('valid files', () => {
  it('tensors are views into the file buffer, at their offsets', () => {
    const file = safetensorsOf({ w: { dtype: 'F32', shape: [3], data: f32Bytes(Float32Array.of(1, 2, 3)) }, h: { dtype: 'BF16', shape: [2], data: new Uint8Array(4) } });
    const t = parseSafetensors(file);
    const w = t.get('w')!;
    expect(w).toMatchObject({ dtype: 'f32', shape: [3] });
    expect(w.data.buffer).toBe(file.buffer);
    expect(new Float32Array(w.data.slice().buffer)).toEqual(Float32Array.of(1, 2, 3));
    expect(t.get('h')!.dtype).toBe('bf16');
  });
  it('skips __metadata__', () => {
    const t = parseSafetensors(safetensorsBytes({ __metadata__: { format: 'pt' }, ...ok }, 24));
    expect([...t.keys()]).toEqual(['a', 'b']);
  });
});

describe('corrupt headers', () => {
  it.each([0, 5, 7])('a file of %i bytes is truncated', (n) => expectFormatError(() => parseSafetensors(new Uint8Array(n)), 'truncated'));
  it('a header length past the end', () => expectFormatError(() => parseSafetensors(safetensorsBytes(ok, 24, 1 << 20)), 'header-out-of-range'));
  it('a 2^53 header length', () => expectFormatError(() => parseSafetensors(safetensorsBytes(ok, 24, Number.MAX_SAFE_INTEGER)), 'header-out-of-range'));
  it('a header that is not JSON', () => expectFormatError(() => parseSafetensors(Uint8Array.of(4, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7b, 0x7b, 0x7b)), 'bad-header'));
  it('a header that is JSON but not an object', () => {
    const json = new TextEncoder().encode('[1]');
    const file = new Uint8Array(8 + json.length);
    file[0] = json.length;
    file.set(json, 8);
    expectFormatError(() => parseSafetensors(file), 'bad-header');
  });
  it('an entry without data_offsets, or with a negative dimension', () => {
    expectFormatError(() => parseSafetensors(safetensorsBytes({ a: { dtype: 'F32', shape: [4] } as unknown as RawEntry }, 16)), 'bad-header');
    expectFormatError(() => parseSafetensors(safetensorsBytes({ a: { dtype: 'F32', shape: [-4], data_offsets: [0, 16] } }, 16)), 'bad-header');
  });
});

describe('corrupt tensor table', () => {
  it('offsets past the data section', () => expectFormatError(() => parseSafetensors(safetensorsBytes(ok, 20)), 'tensor-out-of-range'));
  it('offsets that run backwards', () => expectFormatError(() => parseSafetensors(safetensorsBytes({ a: { dtype: 'F32', shape: [0], data_offsets: [8, 4] } }, 16)), 'tensor-out-of-range'));
  it('overlapping tensors', () =>
    expectFormatError(() => parseSafetensors(safetensorsBytes({ a: ok.a, b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, 24)), 'tensor-overlap'));
  it('a byte length that does not match shape x dtype', () => {
    expectFormatError(() => parseSafetensors(safetensorsBytes({ a: { dtype: 'F32', shape: [3, 2], data_offsets: [0, 16] } }, 16)), 'size-mismatch');
    expectFormatError(() => parseSafetensors(safetensorsBytes({ a: { dtype: 'F16', shape: [4], data_offsets: [0, 16] } }, 16)), 'size-mismatch');
  });
  it('an unknown dtype', () => expectFormatError(() => parseSafetensors(safetensorsBytes({ a: { dtype: 'Q9', shape: [4], data_offsets: [0, 16] } }, 16)), 'unknown-dtype'));
  it.each(['I8', 'F64', 'I64', 'U8', 'BOOL', 'F8_E4M3'])('a known but unsupported dtype (%s) names it', (dtype) => {
    const f = () => parseSafetensors(safetensorsBytes({ a: { dtype, shape: [8], data_offsets: [0, 64] } }, 64));
    expect(f).toThrow(UnsupportedModelError);
    expect(f).toThrow(dtype);
  });
});

describe('the shared checkpoint', () => {
  const file = new Uint8Array(readFileSync(join(tinystories656k.dir, 'model.safetensors')));
  const headerEnd = 8 + Number(new DataView(file.buffer).getBigUint64(0, true));
  it('loads whole: 2 layers x 9 tensors, the final norm and lm_head', () => expect(parseSafetensors(file).size).toBe(20));
  it.each([
    ['inside the length', 6, 'truncated'],
    ['inside the header', 100, 'header-out-of-range'],
    ['just before the data', headerEnd - 1, 'header-out-of-range'],
    ['at the data', headerEnd, 'tensor-out-of-range'],
    ['mid data', Math.floor((headerEnd + file.length) / 2), 'tensor-out-of-range'],
    ['one byte short', file.length - 1, 'tensor-out-of-range'],
  ] as const)('truncated %s fails', (_, length, problem) => expectFormatError(() => parseSafetensors(file.subarray(0, length)), problem));
});
