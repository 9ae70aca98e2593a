/**
 * Every error the runtime throws on bad input or a broken environment is one of these.
 *
 * Each class states its `name` (on its prototype): minifiers rename classes, so `new.target.name`
 * would give `a` or `s` in a user's production build. The worker protocol finds the class again by
 * this name (src/engine/worker-protocol.ts).
 */
export class D2OError extends Error {
  static {
    this.prototype.name = 'D2OError';
  }
}

export type ModelFormatProblem =
  | 'truncated'
  | 'header-out-of-range'
  | 'bad-header'
  | 'tensor-out-of-range'
  | 'tensor-overlap'
  | 'size-mismatch'
  | 'unknown-dtype'
  | 'missing-tensor'
  | 'missing-file'
  | 'not-a-file'
  | 'non-finite'
  | 'bad-config'
  | 'template-too-costly';

/** The model files are corrupt, truncated or inconsistent. `problem` says which check failed. */
export class ModelFormatError extends D2OError {
  static {
    this.prototype.name = 'ModelFormatError';
  }
  constructor(
    readonly problem: ModelFormatProblem,
    message: string,
    readonly file?: string,
  ) {
    // Names in messages come from the file: a hostile one could be megabytes long.
    const text = file ? `${file}: ${message}` : message;
    super(text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}...` : text);
  }
}

const MAX_MESSAGE = 400;

/** The files are well formed but describe something we do not run (architecture, dtype, feature). */
export class UnsupportedModelError extends D2OError {
  static {
    this.prototype.name = 'UnsupportedModelError';
  }
}

/** navigator.gpu is missing or no adapter/device could be had. */
export class NoWebGPUError extends D2OError {
  static {
    this.prototype.name = 'NoWebGPUError';
  }
}

/** The GPU device was lost mid-session; the engine must be recreated. */
export class DeviceLostError extends D2OError {
  static {
    this.prototype.name = 'DeviceLostError';
  }
  constructor(
    message: string,
    readonly reason?: string,
  ) {
    super(message);
  }
}

/** The prompt (or prompt plus requested tokens) does not fit the context or the KV budget. */
export class ContextOverflowError extends D2OError {
  static {
    this.prototype.name = 'ContextOverflowError';
  }
  constructor(
    message: string,
    readonly tokens: number,
    readonly limit: number,
  ) {
    super(message);
  }
}

/** A generation was stopped through its AbortSignal. */
export class AbortError extends D2OError {
  static {
    this.prototype.name = 'AbortError';
  }
}

/** The engine was disposed: every call after dispose() fails with this; create a new engine. */
export class EngineDisposedError extends D2OError {
  static {
    this.prototype.name = 'EngineDisposedError';
  }
}

/** A network or file read failed while loading. */
export class LoadError extends D2OError {
  static {
    this.prototype.name = 'LoadError';
  }
}

/**
 * The Hugging Face hub refused a file (HTTP 401 or 403): the repository is gated or private. Accept
 * its licence on the hub, then pass an access token as `hfToken`.
 */
export class GatedModelError extends LoadError {
  static {
    this.prototype.name = 'GatedModelError';
  }
  constructor(
    message: string,
    readonly repo: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new AbortError('generation aborted', { cause: signal.reason });
}
