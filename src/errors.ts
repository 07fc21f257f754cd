/**
 * Errors with a stable code, a message a person understands and what to do about it.
 * They survive the worker boundary: `installErrorTransfer` teaches Comlink to carry code and hint.
 */

export const ERROR_CODES = {
  INVALID_PROMPT: 'The prompt is not usable.',
  INVALID_SIZE: 'The image size is not supported by this model.',
  INVALID_STEPS: 'The number of steps is out of range.',
  INVALID_GUIDANCE: 'The guidance scale is out of range.',
  INVALID_SEED: 'The seed is not valid.',
  INVALID_REQUEST: 'The request is malformed.',
  MODEL_UNKNOWN: 'No model with this id is known.',
  MODEL_NOT_AVAILABLE: 'This model cannot be loaded yet.',
  MODEL_NOT_LOADED: 'No model is loaded.',
  MODEL_FILE_MISSING: 'A model file could not be read.',
  MODEL_INVALID: 'A model file is not what the pipeline expects.',
  MODEL_FILE_CORRUPT: 'A model file does not match the size or checksum its pack lists.',
  STORAGE_FULL: 'There is not enough storage space for the model.',
  LICENSE_NOT_ACCEPTED: 'The model\'s licence was not accepted, so it was not downloaded.',
  SOURCE_NEEDS_TOKEN: 'The model host needs an access token (a gated repository).',
  BACKEND_UNAVAILABLE: 'No usable compute backend.',
  FEED_MISMATCH: 'The inputs given to a model do not match its graph.',
  BUSY: 'The generator is busy.',
  CANCELLED: 'The generation was cancelled.',
  RUNTIME_FAILED: 'The inference runtime failed.',
  WORKER_FAILED: 'The generator worker stopped.',
  INTERNAL: 'An unexpected error happened.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ErrorInfo {
  code: ErrorCode;
  message: string;
  /** What the person can do about it. */
  hint?: string;
  /** Structured facts (field name, limits, dropped text…) for programs. */
  details?: Record<string, unknown>;
}

export class WebDiffusionError extends Error implements ErrorInfo {
  override readonly name = 'WebDiffusionError';
  readonly code: ErrorCode;
  readonly hint?: string;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: { hint?: string; details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options.hint !== undefined) this.hint = options.hint;
    if (options.details !== undefined) this.details = options.details;
  }

  toJSON(): ErrorInfo {
    return { code: this.code, message: this.message, hint: this.hint, details: this.details };
  }
}

export function isWebDiffusionError(e: unknown): e is WebDiffusionError {
  return e instanceof WebDiffusionError || (typeof e === 'object' && e !== null && 'code' in e && (e as { code: unknown }).code as string in ERROR_CODES);
}

/** Any thrown value as a WebDiffusionError (unknown errors become INTERNAL / RUNTIME_FAILED). */
export function toWebDiffusionError(e: unknown, fallback: ErrorCode = 'INTERNAL'): WebDiffusionError {
  if (e instanceof WebDiffusionError) return e;
  if (isWebDiffusionError(e)) {
    const info = e as unknown as ErrorInfo;
    return new WebDiffusionError(info.code, info.message, { hint: info.hint, details: info.details });
  }
  const message = e instanceof Error ? e.message : String(e);
  return new WebDiffusionError(fallback, message || ERROR_CODES[fallback], { cause: e });
}

interface ComlinkLike {
  transferHandlers: Map<string, { canHandle(v: unknown): boolean; serialize(v: never): [unknown, Transferable[]]; deserialize(v: never): unknown }>;
}

/**
 * Replaces Comlink's "throw" handler so that a WebDiffusionError thrown in the worker arrives in
 * the page as a WebDiffusionError with the same code, hint and details. Install on both sides.
 */
export function installErrorTransfer(comlink: ComlinkLike): void {
  const original = comlink.transferHandlers.get('throw');
  if (!original) return;
  comlink.transferHandlers.set('throw', {
    canHandle: (v: unknown) => original.canHandle(v),
    serialize: ({ value }: { value: unknown }) => {
      const err = value instanceof WebDiffusionError ? value : toWebDiffusionError(value, 'INTERNAL');
      return [{ isError: true, value: err.toJSON() }, []];
    },
    deserialize: (s: { value: ErrorInfo }) => {
      throw new WebDiffusionError(s.value.code, s.value.message, { hint: s.value.hint, details: s.value.details });
    },
  } as never);
}
