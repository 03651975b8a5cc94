/**
 * Evaluation of text classifiers (BERT family): loss, accuracy and predictions of a
 * sequence-classification (or regression) head on labelled texts, batch by batch with dynamic
 * padding. `evaluate(textModel, data)` and the text recipe's validation call it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { TransferKitError } from '../errors.js';
import { checkLabels } from '../data/labels.js';
import { padBatch, type TextTokenizer } from '../data/text/tokenizer.js';
import { disposeBatch, textInputs } from '../models/text/inputs.js';
import type { TextModel } from '../models/text/text_model.js';
import { ensureBackend } from '../backends/backend.js';

/** Labelled texts (one label per text; a class index, or a value for regression heads). */
export interface TextClassificationData {
  texts: string[];
  labels: number[];
  /** Second segments of text pairs (NLI, QA-style tasks), one per text. */
  pairs?: string[];
}

/** Evaluation figures of {@link evaluateText}. */
export interface TextEvaluation {
  loss: number;
  /** Classifiers only. */
  accuracy?: number;
  /** Predicted class per text (classifiers) or value (regression). */
  predictions: number[];
}

export function checkTextData(tm: TextModel, data: TextClassificationData, what: string): void {
  if (!Array.isArray(data.texts) || data.texts.length === 0) throw new TransferKitError('E_DATA', `${what}: no texts.`);
  if (data.labels.length !== data.texts.length) throw new TransferKitError('E_DATA', `${what}: ${data.texts.length} texts but ${data.labels.length} labels; pass one label per text.`);
  if (tm.task !== 'sequence-classification') throw new TransferKitError('E_BAD_OPTION', `fineTuneText trains sequence-classification heads; this model's task is '${tm.task}'. Load it with { task: 'sequence-classification', numLabels }.`);
  if (tm.problemType === 'multiclass') {
    const k = tm.model.outputs[0].shape[1] as number;
    const bad = data.labels.findIndex((l) => !Number.isInteger(l) || l < 0 || l >= k);
    if (bad >= 0) throw new TransferKitError('E_DATA', `${what}: label ${data.labels[bad]} (text #${bad}) is not a class index in [0, ${k - 1}] of this ${k}-label head.`);
  } else if (tm.problemType === 'multilabel') {
    throw new TransferKitError('E_NOT_IMPLEMENTED', 'fineTuneText: multi-label heads are not supported yet; use a multiclass or regression head.');
  }
}

export function tokenizerOf(tm: TextModel, t: TextTokenizer | undefined): TextTokenizer {
  const tok = t ?? tm.tokenizer;
  if (tok === undefined) throw new TransferKitError('E_BAD_OPTION', `${tm.source} has no tokenizer (no tokenizer.json or vocab.txt); pass options.tokenizer.`);
  return tok;
}

/** Per-example loss sum and hits of a batch (logits in, tensors out). */
export function lossAndHits(tm: TextModel, logits: tf.Tensor, labels: number[]): { loss: tf.Scalar; hits: tf.Scalar } {
  return tf.tidy(() => {
    if (tm.problemType === 'regression') {
      const y = tf.tensor2d(labels, [labels.length, 1]);
      return { loss: tf.sum(tf.squaredDifference(logits, y)) as tf.Scalar, hits: tf.scalar(0) };
    }
    const k = logits.shape[1] as number;
    const oneHot = tf.oneHot(tf.tensor1d(labels, 'int32'), k);
    const loss = tf.neg(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)))) as tf.Scalar;
    const hits = tf.sum(tf.cast(tf.equal(tf.argMax(logits, -1), tf.tensor1d(labels, 'int32')), 'float32')) as tf.Scalar;
    return { loss, hits };
  });
}

/** Options of {@link evaluateText} (and `evaluate` on a text model). */
export interface TextEvaluateOptions {
  /** Texts per forward pass (default 64). */
  batchSize?: number;
  /** Longest sequence in tokens (default 128). */
  maxLength?: number;
  /** The tokenizer (default the model's). */
  tokenizer?: TextTokenizer;
}

/** Loss, accuracy and predictions of a classification (or regression) head on `data`. */
export async function evaluateText(tm: TextModel, data: TextClassificationData, options: TextEvaluateOptions = {}): Promise<TextEvaluation> {
  await ensureBackend();
  checkTextData(tm, data, 'evaluateText');
  await checkLabels('evaluateText', tm, data);
  const tok = tokenizerOf(tm, options.tokenizer);
  const encoded = tok.encodeAll(data.texts, data.pairs, { maxLength: options.maxLength ?? 128 });
  const bs = options.batchSize ?? 64;
  let loss = 0;
  let hits = 0;
  const predictions: number[] = [];
  for (let s = 0; s < encoded.length; s += bs) {
    const idx = Array.from({ length: Math.min(bs, encoded.length - s) }, (_, i) => s + i);
    const batch = padBatch(idx.map((i) => encoded[i]), tok.padId);
    const logits = tm.model.apply(textInputs(tm, batch), { training: false }) as tf.Tensor;
    const r = lossAndHits(tm, logits, idx.map((i) => data.labels[i]));
    const pred = tm.problemType === 'regression' ? tf.reshape(logits, [-1]) : tf.argMax(logits, -1);
    loss += (await r.loss.data())[0];
    hits += (await r.hits.data())[0];
    predictions.push(...Array.from(await pred.data()));
    tf.dispose([logits, r.loss, r.hits, pred]);
    disposeBatch(batch);
  }
  const n = encoded.length;
  return { loss: loss / n, ...(tm.problemType === 'regression' ? {} : { accuracy: hits / n }), predictions };
}

/**
 * Outputs of a text classifier for `texts` (inference mode, batched, dynamic padding): softmax
 * probabilities for multiclass heads, sigmoid for multilabel, raw values for regression — the same
 * rows `predict` gives for images. Caller disposes the result.
 */
export function predictText(tm: TextModel, texts: readonly string[], options: { batchSize?: number; maxLength?: number; tokenizer?: TextTokenizer; pairs?: readonly string[] } = {}): tf.Tensor2D {
  const tok = tokenizerOf(tm, options.tokenizer);
  if (tm.task !== 'sequence-classification') throw new TransferKitError('E_BAD_OPTION', `predict on a text model needs a classification head; this model's task is '${tm.task}'. Call replaceHead(model, { numClasses }) first.`);
  const encoded = tok.encodeAll([...texts], options.pairs !== undefined ? [...options.pairs] : undefined, { maxLength: options.maxLength ?? 128 });
  const bs = options.batchSize ?? 64;
  const parts: tf.Tensor[] = [];
  for (let s = 0; s < encoded.length; s += bs) {
    const batch = padBatch(encoded.slice(s, s + bs), tok.padId);
    parts.push(tf.tidy(() => {
      const logits = tm.model.apply(textInputs(tm, batch), { training: false }) as tf.Tensor2D;
      return tm.problemType === 'regression' ? logits : tm.problemType === 'multilabel' ? tf.sigmoid(logits) : tf.softmax(logits);
    }));
    disposeBatch(batch);
  }
  const out = tf.concat(parts, 0) as tf.Tensor2D;
  tf.dispose(parts);
  return out;
}
