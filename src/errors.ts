/** Every error the runtime throws on bad input or a broken environment is one of these. */
export class D2OError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
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
  | 'bad-config';

/** The model files are corrupt, truncated or inconsistent. `problem` says which check failed. */
export class ModelFormatError extends D2OError {
  constructor(
    readonly problem: ModelFormatProblem,
    message: string,
    readonly file?: string,
  ) {
    super(file ? `${file}: ${message}` : message);
  }
}

/** The files are well formed but describe something we do not run (architecture, dtype, feature). */
export class UnsupportedModelError extends D2OError {}

/** navigator.gpu is missing or no adapter/device could be had. */
export class NoWebGPUError extends D2OError {}

/** The GPU device was lost mid-session; the engine must be recreated. */
export class DeviceLostError extends D2OError {
  constructor(
    message: string,
    readonly reason?: string,
  ) {
    super(message);
  }
}

/** The prompt (or prompt plus requested tokens) does not fit the context or the KV budget. */
export class ContextOverflowError extends D2OError {
  constructor(
    message: string,
    readonly tokens: number,
    readonly limit: number,
  ) {
    super(message);
  }
}

/** A generation was stopped through its AbortSignal. */
export class AbortError extends D2OError {}

/** A network or file read failed while loading. */
export class LoadError extends D2OError {}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new AbortError('generation aborted', { cause: signal.reason });
}
