/**
 * Resource limits checked *before* allocating, so a small hostile file (a PNG that declares
 * 100,000 × 100,000 pixels, a .pth tensor with stride 0, a .keras zip that inflates 1000×, a config
 * with a billion hidden units) ends in a coded `E_LIMIT` error naming the file, the value and the
 * option that raises the limit, instead of exhausting memory.
 *
 * The defaults sit well above every real model and photo transferkit targets (the largest tensor
 * of BERT-large is 31 M elements; a 100-megapixel photo is jpeg-js's own default cap) and well
 * below what takes a 2-core, 8 GB machine down. Raise one with {@link setInputLimits}.
 */
import { TransferKitError } from '../errors.js';

/** The limits transferkit enforces on what it reads. */
export interface InputLimits {
  /** Pixels (width × height) of one decoded image, any format. Default 100,000,000 (jpeg-js's cap). */
  maxImagePixels: number;
  /** Elements of one tensor read from a weight file (.pth, safetensors, .h5, model.json). Default 2^28 (1 GiB as float32). */
  maxTensorElements: number;
  /** Uncompressed bytes of one zip member (.keras archives). Default 4 GiB. */
  maxArchiveMemberBytes: number;
  /** Uncompressed / compressed size of one zip member. Default 1000 (deflate's ceiling is ~1032; real weights compress < 2×). */
  maxCompressionRatio: number;
  /** Transformer layers in a text model config. Default 128. */
  maxTextLayers: number;
  /** Hidden size (and intermediate size / 4) of a text model config. Default 16,384. */
  maxHiddenSize: number;
  /** Vocabulary size of a text model or tokenizer. Default 1,000,000. */
  maxVocabSize: number;
  /** Maximum positions (sequence length) of a text model config. Default 65,536. */
  maxPositions: number;
  /** Nesting depth of JSON/pickle structures. Default 1,000. */
  maxNestingDepth: number;
  /**
   * Milliseconds one call into a native/WASM parser (the HDF5 library reading a .h5 file) may take
   * before the file is declared corrupt (`E_IO_FORMAT`): some damaged files make such a parser loop
   * forever. Default 30,000.
   */
  parseTimeoutMs: number;
}

const DEFAULTS: InputLimits = {
  maxImagePixels: 100_000_000,
  maxTensorElements: 2 ** 28,
  maxArchiveMemberBytes: 4 * 2 ** 30,
  maxCompressionRatio: 1000,
  maxTextLayers: 128,
  maxHiddenSize: 16_384,
  maxVocabSize: 1_000_000,
  maxPositions: 65_536,
  maxNestingDepth: 1000,
  parseTimeoutMs: 30_000,
};

let current: InputLimits = { ...DEFAULTS };

/** The limits in force now (a copy). */
export function inputLimits(): InputLimits {
  return { ...current };
}

/** The built-in defaults (a copy). */
export function defaultInputLimits(): InputLimits {
  return { ...DEFAULTS };
}

/**
 * Raises (or lowers) limits for the whole process; returns the previous limits so a caller can
 * restore them. Unknown names and non-positive values are refused.
 * @example
 * ```ts
 * const before = setInputLimits({ maxImagePixels: 400e6 }); // a gigapixel scan workflow
 * try { ... } finally { setInputLimits(before); }
 * ```
 */
export function setInputLimits(limits: Partial<InputLimits>): InputLimits {
  const before = { ...current };
  for (const [key, value] of Object.entries(limits)) {
    if (!(key in DEFAULTS)) {
      throw new TransferKitError('E_BAD_OPTION', `Unknown input limit '${key}'. Known: ${Object.keys(DEFAULTS).join(', ')}.`);
    }
    if (typeof value !== 'number' || !(value > 0)) {
      throw new TransferKitError('E_BAD_OPTION', `Input limit ${key} must be a positive number. Received: ${key}=${String(value)}.`);
    }
  }
  current = { ...current, ...limits };
  return before;
}

/**
 * Throws `E_LIMIT` when `value` exceeds the limit `name` (or `override` when given).
 * `what` says what was measured and where, e.g. "image photos/a.png declares 200000 x 200000 pixels".
 */
export function checkLimit(name: keyof InputLimits, value: number, what: string, override?: number): void {
  const limit = override ?? current[name];
  if (!Number.isFinite(value) || value > limit) {
    throw new TransferKitError(
      'E_LIMIT',
      `${what}: ${String(value)} is over the limit ${name}=${limit}. If the file is genuine, raise the limit with setInputLimits({ ${name}: ... }); otherwise the file is corrupt or hostile.`,
    );
  }
}
