/**
 * Coded errors. Callers branch on `err.code`, never on `instanceof`, because
 * `instanceof` breaks when two separately bundled copies of the library meet
 * (the ESM and CJS builds, or a browser bundle beside a Node one).
 */

/** Every error code transferkit throws. */
export type ErrorCode =
  | 'E_BACKEND_UNAVAILABLE'
  | 'E_BACKEND_UNKNOWN'
  | 'E_BACKEND_NOT_STARTED'
  | 'E_KERNEL_UNSUPPORTED'
  | 'E_IO_NOT_FOUND'
  | 'E_IO_BAD_MANIFEST'
  | 'E_IO_SHARD_MISSING'
  | 'E_IO_SHARD_SIZE'
  | 'E_IO_UNKNOWN_LAYER'
  | 'E_IO_BAD_DTYPE'
  | 'E_IO_HTTP'
  | 'E_IO_WRITE'
  | 'E_MODEL_TOPOLOGY'
  | 'E_LAYER_NOT_FOUND'
  | 'E_BAD_OPTION'
  | 'E_DATA'
  | 'E_TRAINING_DIVERGED'
  | 'E_NOT_IMPLEMENTED'
  | 'E_WEIGHTS_UNAVAILABLE'
  | 'E_IO_CHECKSUM'
  | 'E_IO_FORMAT'
  | 'E_IO_PATH_ESCAPE'
  | 'E_IO_TIMEOUT'
  | 'E_LIMIT';

/**
 * The one error class of transferkit. Messages follow the form
 * "what is wrong. the constraint. Received: name=value. the fix", prefixed with `[transferkit]`.
 */
export class TransferKitError extends Error {
  /** Machine-readable reason; stable across versions. */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(`[transferkit] ${message}`, options);
    this.name = 'TransferKitError';
    this.code = code;
  }
}

/** True when `err` is a transferkit error (works across bundles: checks the shape, not the class). */
export function isTransferKitError(err: unknown): err is TransferKitError {
  return (
    typeof err === 'object' &&
    err !== null &&
    (err as { name?: unknown }).name === 'TransferKitError' &&
    typeof (err as { code?: unknown }).code === 'string'
  );
}
