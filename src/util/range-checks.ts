/**
 * The shape of every argument error: a RangeError that names the argument, the range it accepts,
 * and (briefly) what it got. Used where options enter: the engine, the KV policy, the CLI.
 */

/** A short rendering of what was passed, for messages (never a whole prompt). */
function show(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean' || v === undefined || v === null) return String(v);
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '...' : v);
  if (Array.isArray(v)) return `an array of ${v.length}`;
  return `a ${Object.prototype.toString.call(v).slice(8, -1).toLowerCase()}`;
}

export function argumentError(name: string, accepted: string, got: unknown): RangeError {
  return new RangeError(`${name} must be ${accepted}, got ${show(got)}`);
}

export interface NumberRange {
  min: number;
  max?: number;
  /** `min` itself is excluded. */
  minOpen?: boolean;
  integer?: boolean;
}

/** A finite number in the range, when given (undefined means the default). */
export function checkNumber(v: unknown, name: string, r: NumberRange): void {
  if (v === undefined) return;
  const { min, max = Infinity, minOpen = false, integer = false } = r;
  if (typeof v === 'number' && Number.isFinite(v) && (minOpen ? v > min : v >= min) && v <= max && (!integer || Number.isInteger(v))) return;
  const range = max === Infinity ? `${minOpen ? 'above' : 'at least'} ${min}` : `in ${minOpen ? '(' : '['}${min}, ${max}]`;
  throw argumentError(name, `${integer ? 'an integer' : 'a finite number'} ${range}`, v);
}

export function checkBoolean(v: unknown, name: string): void {
  if (v !== undefined && typeof v !== 'boolean') throw argumentError(name, 'true or false', v);
}

/** An options object, when given. */
export function checkObject(v: unknown, name: string): void {
  if (v !== undefined && (typeof v !== 'object' || v === null || Array.isArray(v))) throw argumentError(name, 'an options object', v);
}
