/**
 * The frozen part of feature-extraction transfer learning: something that turns raw inputs (texts,
 * images) into one embedding row each, and is never trained. Implemented by ONNX encoders run in
 * ONNX Runtime through `@huggingface/transformers` ({@link loadOnnxEncoder}) and by transferkit's
 * own TF.js text models ({@link textEncoder}), so `extractFeatures`, `replaceHead` and `fineTune`
 * take either.
 */
import type { RgbImage } from '../data/decode_image.js';

/** How token (or patch) states become one vector: the first token's state, or the masked mean (sentence-transformers' mean pooling). */
export type EncoderPooling = 'cls' | 'mean';

import type { EncoderModality, EncoderRuntime } from '../backends/live_encoders.js';
export type { EncoderModality, EncoderRuntime } from '../backends/live_encoders.js';

/** An input of a frozen encoder: a text, or a decoded RGB image. */
export type EncoderInput = string | RgbImage;

/** A pretrained encoder used frozen: inputs in, one embedding row per input out. */
export interface FrozenEncoder {
  /** Tags the object as a frozen encoder (see {@link isFrozenEncoder}). */
  readonly kind: 'frozen-encoder';
  /** Where it came from (a folder, a Hub id, or the TF.js model's source). */
  readonly id: string;
  /** What it embeds: texts, or images. */
  readonly modality: EncoderModality;
  /** Embedding width. */
  readonly dim: number;
  /** How token (or patch) states become the row. */
  readonly pooling: EncoderPooling;
  /** Rows are L2-normalised (as sentence-transformers' `Normalize`). */
  readonly normalize: boolean;
  /** Where it computes. */
  readonly runtime: EncoderRuntime;
  /**
   * A hash of everything that decides the embeddings: the weight and tokenizer/processor files'
   * contents, the pooling, normalisation and truncation. Feature caches are keyed by it, so a
   * changed file or option never reuses stale rows.
   */
  readonly fingerprint: string;
  /** Embeds one batch: `inputs.length * dim` floats, row-major. */
  encode(inputs: readonly EncoderInput[]): Promise<Float32Array>;
  /** Releases the session or the model's tensors. */
  dispose(): Promise<void>;
}

/** True when `x` is a {@link FrozenEncoder}. */
export function isFrozenEncoder(x: unknown): x is FrozenEncoder {
  return typeof x === 'object' && x !== null && (x as { kind?: unknown }).kind === 'frozen-encoder';
}
