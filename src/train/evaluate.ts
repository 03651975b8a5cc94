/**
 * Inference helpers: class probabilities and accuracy of a PretrainedModel on data.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LabeledData } from '../data/dataset.js';
import type { PretrainedModel } from '../models/pretrained_model.js';
import { classificationReport, rocAuc, topKAccuracy, type ClassificationReport } from '../metrics/classification.js';

/** Loss and accuracy on a data set. */
export interface EvaluateResult {
  /** Mean categorical cross-entropy. */
  loss: number;
  /** Fraction of examples whose arg-max prediction equals the label. */
  accuracy: number;
  /** Predicted class per example. */
  predictions: Int32Array;
  /** Confusion matrix, per-class and macro precision/recall/F1. */
  report: ClassificationReport;
  /** Top-5 accuracy (top-k with k = min(5, classes)). */
  top5Accuracy: number;
  /** ROC AUC of the positive class (binary tasks only). */
  auc?: number;
}

/** Class probabilities for `xs` (inference mode, batched). Caller disposes the result. */
export function predict(pm: PretrainedModel, xs: tf.Tensor, batchSize = 32): tf.Tensor2D {
  const parts: tf.Tensor[] = [];
  for (let i = 0; i < xs.shape[0]; i += batchSize) {
    parts.push(tf.tidy(() => pm.model.apply(tf.slice(xs, i, Math.min(batchSize, xs.shape[0] - i)), { training: false }) as tf.Tensor));
  }
  const out = tf.concat(parts, 0) as tf.Tensor2D;
  tf.dispose(parts);
  return out;
}

/** Mean categorical cross-entropy and accuracy of `pm` on `data`. */
export async function evaluate(pm: PretrainedModel, data: LabeledData, batchSize = 32): Promise<EvaluateResult> {
  const probs = predict(pm, data.xs, batchSize);
  const k = probs.shape[1];
  const [ceT, predT] = tf.tidy(() => {
    const y = tf.oneHot(tf.tensor1d(data.labels, 'int32'), k);
    return [tf.neg(tf.mean(tf.sum(tf.mul(y, tf.log(tf.clipByValue(probs, 1e-7, 1))), -1))), tf.argMax(probs, -1)];
  });
  // Asynchronous reads: they work on every backend (WebGPU in Node cannot read synchronously).
  const [loss, preds, rows] = [(await ceT.data())[0], (await predT.data()) as Int32Array, (await probs.array()) as number[][]];
  tf.dispose([ceT, predT, probs]);
  const report = classificationReport(data.labels, preds, k);
  const hasBoth = data.labels.some((l) => l === 1) && data.labels.some((l) => l === 0);
  return {
    loss,
    accuracy: report.accuracy,
    predictions: Int32Array.from(preds),
    report,
    top5Accuracy: topKAccuracy(data.labels, rows, Math.min(5, k)),
    ...(k === 2 && hasBoth ? { auc: rocAuc(data.labels, rows.map((r) => r[1])) } : {}),
  };
}
