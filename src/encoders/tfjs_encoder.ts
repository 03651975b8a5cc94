/**
 * transferkit's own TF.js models as frozen encoders, so feature extraction has one API whether
 * the frozen part runs in ONNX Runtime ({@link loadOnnxEncoder}) or in TF.js:
 * - {@link textEncoder}: a BERT-family {@link TextModel}'s last hidden states, pooled (first
 *   token or masked mean) exactly as the ONNX path pools;
 * - {@link imageEncoder}: a vision {@link PretrainedModel}'s feature layer (global-average pooled
 *   when it is a map), on images resized to the model's input (antialiased bilinear, as PIL and
 *   torchvision) and preprocessed by its `preprocessing`.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { TransferKitError } from '../errors.js';
import type { RgbImage } from '../data/decode_image.js';
import { resizeCropImage } from '../data/resize_image.js';
import type { TextModel } from '../models/text/text_model.js';
import type { PretrainedModel } from '../models/pretrained_model.js';
import { disposeBatch, textInputs } from '../models/text/inputs.js';
import type { EncoderInput, EncoderPooling, FrozenEncoder } from '../models/frozen_encoder.js';
import { normalizeRow, poolTokenStates } from './pooling.js';
import { registerLiveEncoder, unregisterLiveEncoder } from '../backends/live_encoders.js';

/** Options of {@link textEncoder}. */
export interface TextEncoderOptions {
  /** `'mean'` (default) or `'cls'` (the first token's last hidden state). */
  pooling?: EncoderPooling;
  /** L2-normalise each embedding (default false). */
  normalize?: boolean;
  /** Truncate to this many tokens, special tokens included (default: the tokenizer's `model_max_length`). */
  maxLength?: number;
}

/** SHA-256 (hex) of the weights' bytes and `settings`, with WebCrypto (Node 20 and browsers). */
async function weightsFingerprint(model: tfl.LayersModel, settings: Record<string, unknown>): Promise<string> {
  const parts: Uint8Array[] = [new TextEncoder().encode(JSON.stringify(settings))];
  for (const w of model.weights) {
    const v = (await w.read().data()) as Float32Array;
    parts.push(new TextEncoder().encode(`${w.originalName}:${w.shape.join('x')}:`));
    parts.push(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  }
  const total = parts.reduce((a, p) => a + p.byteLength, 0);
  const all = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.byteLength;
  }
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', all));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

function live(encoder: FrozenEncoder): FrozenEncoder {
  registerLiveEncoder(encoder);
  return encoder;
}

/**
 * A BERT-family text model used frozen: texts → pooled last hidden states.
 *
 * @example
 * ```ts
 * const encoder = await textEncoder(await loadTextModel('models/bert-tiny'), { pooling: 'mean' });
 * ```
 */
export async function textEncoder(tm: TextModel, options: TextEncoderOptions = {}): Promise<FrozenEncoder> {
  const tokenizer = tm.tokenizer;
  if (tokenizer === undefined) {
    throw new TransferKitError('E_BAD_OPTION', `textEncoder: the text model from ${tm.source} has no tokenizer. Load it from a folder with tokenizer.json or vocab.txt, or set tm.tokenizer.`);
  }
  const pooling = options.pooling ?? 'mean';
  if (pooling !== 'mean' && pooling !== 'cls') throw new TransferKitError('E_BAD_OPTION', `textEncoder: unknown pooling. Received: pooling=${String(pooling)}. Choose 'mean' or 'cls'.`);
  const normalize = options.normalize ?? false;
  const hiddenOut = tm.model.getLayer(tm.featureLayer).getOutputAt(0) as tfl.SymbolicTensor;
  const sub = tfl.model({ inputs: tm.model.inputs, outputs: hiddenOut, name: `${tm.model.name}_encoder` });
  const maxLength = options.maxLength;
  const fingerprint = await weightsFingerprint(sub, { kind: 'tfjs-text', family: tm.family, pooling, normalize, maxLength: maxLength ?? null, vocab: tokenizer.vocabSize });
  const dim = tm.spec.hiddenSize;
  const encoder: FrozenEncoder = {
    kind: 'frozen-encoder',
    id: tm.source,
    modality: 'text',
    dim,
    pooling,
    normalize,
    runtime: { runtime: 'tfjs', device: tf.getBackend() },
    fingerprint,
    encode: async (inputs: readonly EncoderInput[]) => {
      if (inputs.length === 0) return new Float32Array(0);
      const texts = inputs.map((x, i) => {
        if (typeof x !== 'string') throw new TransferKitError('E_DATA', `Text encoder '${tm.source}': input ${i} is not a string.`);
        return x;
      });
      const batch = tokenizer.batch(texts, maxLength !== undefined ? { maxLength } : {});
      try {
        const hidden = sub.predict(textInputs(tm, batch)) as tf.Tensor3D;
        const [h, m] = await Promise.all([hidden.data(), batch.attentionMask.data()]);
        const dims = hidden.shape as [number, number, number];
        hidden.dispose();
        return poolTokenStates(h as Float32Array, m as Int32Array, dims, pooling, normalize);
      } finally {
        disposeBatch(batch);
      }
    },
    dispose: async () => {
      unregisterLiveEncoder(encoder);
    },
  };
  return live(encoder);
}

/** The model from `pm`'s inputs to its feature layer (weights shared). */
function featureModel(pm: PretrainedModel): tfl.LayersModel {
  const featOut = pm.model.getLayer(pm.featureLayer).getOutputAt(0) as tfl.SymbolicTensor;
  return tfl.model({ inputs: pm.model.inputs, outputs: featOut, name: `${pm.model.name}_features` });
}

/** `sub`'s output on `x`, global-average pooled when it is a map [N, H, W, C]. */
function pooled(sub: tfl.LayersModel, x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const out = sub.predict(x) as tf.Tensor;
    return out.rank === 4 ? tf.mean(out, [1, 2]) : out;
  });
}

/**
 * The feature layer's output (global-average pooled when a map) for already preprocessed inputs
 * `xs` [N, H, W, C], in batches: what {@link imageEncoder} computes after resizing.
 */
export async function runFeatureLayer(pm: PretrainedModel, xs: tf.Tensor, batchSize = 32): Promise<tf.Tensor2D> {
  const sub = featureModel(pm);
  const parts: tf.Tensor[] = [];
  for (let i = 0; i < xs.shape[0]; i += batchSize) {
    const x = tf.slice(xs, i, Math.min(batchSize, xs.shape[0] - i));
    parts.push(pooled(sub, x));
    x.dispose();
    await parts[parts.length - 1].data(); // one batch in flight at a time
  }
  const all = tf.concat(parts, 0) as tf.Tensor2D;
  tf.dispose(parts);
  return all;
}

/** Options of {@link imageEncoder}. */
export interface ImageEncoderOptions {
  /** L2-normalise each embedding (default false). */
  normalize?: boolean;
}

/**
 * A vision model used frozen: images → its feature layer's output (global-average pooled when a
 * map), as Keras applications' `include_top=False, pooling='avg'`.
 */
export async function imageEncoder(pm: PretrainedModel, options: ImageEncoderOptions = {}): Promise<FrozenEncoder> {
  const normalize = options.normalize ?? false;
  const sub = featureModel(pm);
  const [h, w] = pm.inputShape;
  const featShape = sub.outputs[0].shape;
  const dim = featShape[featShape.length - 1] as number;
  const { scale, offset } = pm.preprocessing;
  const fingerprint = await weightsFingerprint(sub, { kind: 'tfjs-image', resize: 'antialias', featureLayer: pm.featureLayer, inputShape: pm.inputShape, scale, offset, normalize });
  const encoder: FrozenEncoder = {
    kind: 'frozen-encoder',
    id: pm.source,
    modality: 'image',
    dim,
    pooling: 'mean',
    normalize,
    runtime: { runtime: 'tfjs', device: tf.getBackend() },
    fingerprint,
    encode: async (inputs: readonly EncoderInput[]) => {
      if (inputs.length === 0) return new Float32Array(0);
      const images = inputs.map((x, i) => {
        if (typeof x === 'string' || !(x.data instanceof Uint8Array)) throw new TransferKitError('E_DATA', `Image encoder '${pm.source}': input ${i} is not an RgbImage (decode files with decodeImage first).`);
        return x as RgbImage;
      });
      const feats = tf.tidy(() => {
        const xs = tf.stack(images.map((img) => tf.tensor3d(resizeCropImage(img, [h, w], { cropFraction: 1 }), [h, w, 3])));
        return pooled(sub, tf.add(tf.mul(xs, scale as number | number[]), offset as number | number[]));
      });
      const rows = (await feats.data()) as Float32Array;
      feats.dispose();
      const copy = new Float32Array(rows);
      if (normalize) for (let i = 0; i < images.length; i++) normalizeRow(copy.subarray(i * dim, (i + 1) * dim));
      return copy;
    },
    dispose: async () => {
      unregisterLiveEncoder(encoder);
    },
  };
  return live(encoder);
}
