/** safetensors: an 8-byte little-endian header length, a JSON header, then the raw tensor bytes. */
import { ModelFormatError, UnsupportedModelError } from '../errors';
import { tensorByteSize } from './dtypes';
import type { DType, Tensor } from './types';

const DTYPES: Record<string, DType> = { F32: 'f32', F16: 'f16', BF16: 'bf16' };
const KNOWN_UNSUPPORTED = new Set(['F64', 'I64', 'I32', 'I16', 'I8', 'U8', 'U16', 'U32', 'U64', 'BOOL', 'F8_E4M3', 'F8_E5M2']);

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** The reference implementation's limit; a larger header is a corrupt length, not a model. */
const MAX_HEADER_BYTES = 100_000_000;

/**
 * Parses one safetensors file; tensors are views into `file`. As the reference implementation
 * requires, the tensors tile the data section exactly: from byte 0 to its end, with no gap and no
 * overlap, so a header length or dtype that is off shows as an error rather than shifted weights.
 */
export function parseSafetensors(file: Uint8Array, fileName = 'model.safetensors'): Map<string, Tensor> {
  const fail = (problem: ConstructorParameters<typeof ModelFormatError>[0], msg: string) => new ModelFormatError(problem, msg, fileName);
  if (file.byteLength < 8) throw fail('truncated', `file has ${file.byteLength} bytes, the header length alone needs 8`);
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const headerLen = Number(dv.getBigUint64(0, true));
  if (8 + headerLen > file.byteLength) throw fail('header-out-of-range', `header length ${headerLen} runs past the end of the ${file.byteLength}-byte file`);
  if (headerLen > MAX_HEADER_BYTES) throw fail('header-out-of-range', `header length ${headerLen} is over the ${MAX_HEADER_BYTES}-byte limit`);

  let header: Record<string, HeaderEntry | Record<string, string>>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(file.subarray(8, 8 + headerLen)));
  } catch {
    // No parser message: it quotes the header's bytes.
    throw fail('bad-header', `the ${headerLen}-byte header is not valid UTF-8 JSON`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw fail('bad-header', 'header is not a JSON object');

  const dataStart = 8 + headerLen;
  const dataLen = file.byteLength - dataStart;
  const tensors = new Map<string, Tensor>();
  const ranges: [number, number, string][] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const e = raw as HeaderEntry;
    if (!e || typeof e.dtype !== 'string' || !Array.isArray(e.shape) || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0) || !Array.isArray(e.data_offsets) || e.data_offsets.length !== 2)
      throw fail('bad-header', `tensor ${name} lacks a dtype, a shape of non-negative integers or two data_offsets`);
    const dtype = DTYPES[e.dtype];
    if (!dtype) {
      if (KNOWN_UNSUPPORTED.has(e.dtype)) throw new UnsupportedModelError(`${fileName}: tensor ${name} has dtype ${e.dtype}; supported: F32, F16, BF16`);
      throw fail('unknown-dtype', `tensor ${name} has unknown dtype ${JSON.stringify(e.dtype)}`);
    }
    const [begin, end] = e.data_offsets;
    if (!Number.isSafeInteger(begin) || !Number.isSafeInteger(end) || begin < 0 || end < begin || end > dataLen)
      throw fail('tensor-out-of-range', `tensor ${name} spans bytes [${begin}, ${end}) but the data section has ${dataLen}`);
    const expected = tensorByteSize(dtype, e.shape);
    if (end - begin !== expected)
      throw fail('size-mismatch', `tensor ${name} is ${end - begin} bytes but ${e.dtype} ${JSON.stringify(e.shape)} needs ${expected}`);
    ranges.push([begin, end, name]);
    tensors.set(name, { name, dtype, shape: e.shape, data: file.subarray(dataStart + begin, dataStart + end) });
  }
  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let end = 0;
  for (const [begin, stop, name] of ranges) {
    if (begin < end) throw fail('tensor-overlap', `tensor ${name} at bytes [${begin}, ${stop}) overlaps the tensor before it, which ends at ${end}`);
    if (begin > end) throw fail('size-mismatch', `the data section has unused bytes [${end}, ${begin}) before tensor ${name}`);
    end = stop;
  }
  if (end !== dataLen) throw fail('size-mismatch', `the tensors end at byte ${end} of the data section, which has ${dataLen}`);
  return tensors;
}
