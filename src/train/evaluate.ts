/**
 * Inference helpers: class probabilities and accuracy of a PretrainedModel on data.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LabeledData } from '../data/dataset.js';
import { TransferKitError } from '../errors.js';
import { checkLabels } from '../data/labels.js';
import type { EncoderData, HeadTask, PretrainedModel } from '../models/pretrained_model.js';
import { encodeData, isEncoderData } from '../encoders/encode_data.js';
import { taskLoss } from './losses.js';
import { predictTta, type TtaOptions } from './tta.js';
import { classificationReport, rocAuc, topKAccuracy, type ClassificationReport } from '../metrics/classification.js';
import { ensureBackend, requireBackend } from '../backends/backend.js';
import { isTextModel, type TextModel } from '../models/text/text_model.js';
import { checkModality, type TransferModel, type UnnarrowedModel } from '../models/transfer_model.js';
import { evaluateText, predictText, type TextClassificationData, type TextEvaluateOptions, type TextEvaluation } from './evaluate_text.js';

/** Loss and metrics on a data set. */
export interface EvaluateResult {
  /** Mean loss of the head's task (categorical cross-entropy, binary cross-entropy, or MSE). */
  loss: number;
  /** Fraction of examples whose arg-max prediction equals the label. */
  accuracy: number;
  /** Predicted class per example. */
  predictions: Int32Array;
  /** Class probabilities per example (rows of the head's softmax). */
  probabilities: number[][];
  /** Confusion matrix, per-class and macro precision/recall/F1. */
  report: ClassificationReport;
  /** Top-5 accuracy (top-k with k = min(5, classes)). */
  top5Accuracy: number;
  /** ROC AUC of the positive class (binary tasks only). */
  auc?: number;
}

/** Options of {@link evaluate} (a number is the batch size). */
export interface EvaluateOptions {
  /** Examples per forward pass (default 32). */
  batchSize?: number;
  /** Models on a frozen encoder given raw inputs: the embedding cache (as fineTune's `featureCache`; default true). */
  featureCache?: boolean | string;
  /**
   * Test-time augmentation (fastai `Learner.tta`; see {@link predictTta}): `true` for fastai's
   * defaults (4 passes of random flips, plain prediction weighted 0.25). Image inputs only; the
   * loss and every metric are computed on the blended probabilities.
   */
  tta?: boolean | TtaOptions;
}

/** Class probabilities for `xs` (inference mode, batched). Caller disposes the result. */
export function predict(pm: PretrainedModel, xs: tf.Tensor, batchSize?: number): tf.Tensor2D;
/** A text classifier's probabilities (regression: values) for `texts`, one row per text. Caller disposes the result. */
export function predict(tm: TextModel, texts: readonly string[], batchSize?: number): tf.Tensor2D;
/** Either modality ({@link TransferModel}): texts for a text model, a tensor for an image model. */
export function predict<M extends TransferModel>(model: M & UnnarrowedModel<M>, inputs: tf.Tensor | readonly string[], batchSize?: number): tf.Tensor2D;
export function predict(pm: TransferModel, xs: tf.Tensor | readonly string[], batchSize = 32): tf.Tensor2D {
  requireBackend('predict');
  if (isTextModel(pm)) {
    if (!Array.isArray(xs)) throw new TransferKitError('E_DATA', `predict: this is a text model (${pm.family}); pass an array of texts (tensors go with an image model).`);
    return predictText(pm, xs as readonly string[], { batchSize });
  }
  if (!(xs instanceof tf.Tensor)) throw new TransferKitError('E_DATA', 'predict: pass a tensor of preprocessed inputs for an image model (texts go with a text model).');
  const parts: tf.Tensor[] = [];
  for (let i = 0; i < xs.shape[0]; i += batchSize) {
    parts.push(tf.tidy(() => pm.model.apply(tf.slice(xs, i, Math.min(batchSize, xs.shape[0] - i)), { training: false }) as tf.Tensor));
  }
  const out = tf.concat(parts, 0) as tf.Tensor2D;
  tf.dispose(parts);
  return out;
}

/** Mean categorical cross-entropy and accuracy of `pm` on `data` (multiclass heads; see {@link evaluateOutputs} for the others). */
export async function evaluate(pm: PretrainedModel, data: LabeledData | EncoderData, options?: number | EvaluateOptions): Promise<EvaluateResult>;
/** A text classifier on labelled texts: loss, accuracy and predicted classes (see {@link evaluateText}). */
export async function evaluate(tm: TextModel, data: TextClassificationData, options?: TextEvaluateOptions): Promise<TextEvaluation>;
/** Either modality ({@link TransferModel}); data of the other modality is refused (`E_DATA`). */
export async function evaluate<M extends TransferModel>(model: M & UnnarrowedModel<M>, data: LabeledData | EncoderData | TextClassificationData, options?: number | EvaluateOptions | TextEvaluateOptions): Promise<EvaluateResult | TextEvaluation>;
export async function evaluate(pm: TransferModel, data: LabeledData | EncoderData | TextClassificationData, options: number | EvaluateOptions | TextEvaluateOptions = 32): Promise<EvaluateResult | TextEvaluation> {
  checkModality('evaluate', pm, data);
  if (isTextModel(pm)) return evaluateText(pm, data as TextClassificationData, typeof options === 'number' ? { batchSize: options } : (options as TextEvaluateOptions));
  return evaluateImages(pm, data as LabeledData | EncoderData, options as number | EvaluateOptions);
}

async function evaluateImages(pm: PretrainedModel, data: LabeledData | EncoderData, options: number | EvaluateOptions): Promise<EvaluateResult> {
  await ensureBackend();
  const batchSize = typeof options === 'number' ? options : options.batchSize ?? 32;
  if ((pm.task ?? 'multiclass') !== 'multiclass') {
    throw new TransferKitError('E_BAD_OPTION', `evaluate() reports classification metrics; this head's task is '${pm.task}'. Use evaluateOutputs(model, data).`);
  }
  await checkLabels('evaluate', pm, data);
  if (isEncoderData(data)) {
    // A head on a frozen encoder given raw inputs: embed them (through the feature cache) first.
    if (typeof options !== 'number' && options.tta !== undefined && options.tta !== false) {
      throw new TransferKitError('E_BAD_OPTION', 'evaluate: tta augments images; these inputs are encoder inputs (text or tokens). Drop the tta option.');
    }
    const encoded = await encodeData(pm, data, { cache: typeof options === 'number' ? true : options.featureCache ?? true, progress: 'silent' }, 'evaluate: data');
    try {
      return await evaluate(pm, encoded, batchSize);
    } finally {
      encoded.xs.dispose();
    }
  }
  const tta = typeof options === 'number' || options.tta === undefined || options.tta === false ? null : options.tta === true ? {} : options.tta;
  const probs = tta !== null ? predictTta(pm, data.xs, tta, batchSize) : predict(pm, data.xs, batchSize);
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
    probabilities: rows,
    report,
    top5Accuracy: topKAccuracy(data.labels, rows, Math.min(5, k)),
    ...(k === 2 && hasBoth ? { auc: rocAuc(data.labels, rows.map((r) => r[1])) } : {}),
  };
}

/** Metrics of a multilabel or regression head (see {@link evaluateOutputs}). */
export interface OutputsEvaluation {
  task: HeadTask;
  /** Mean loss: binary cross-entropy (multilabel) or mean squared error (regression). */
  loss: number;
  /** Multilabel: Keras `binary_accuracy` (threshold 0.5) over all labels. */
  binaryAccuracy?: number;
  /** Multilabel: fraction of examples whose every label is right (scikit-learn's subset accuracy). */
  exactMatch?: number;
  /** Regression: mean absolute error over all outputs. */
  mae?: number;
  /** Regression: root mean squared error over all outputs. */
  rmse?: number;
  /** Per output (class name or index): binary accuracy (multilabel) or MAE (regression). */
  perOutput: Array<{ name: string; value: number }>;
}

/** Loss and metrics of a multilabel or regression head on `data` (which must carry `targets`). */
export async function evaluateOutputs(pm: PretrainedModel, data: LabeledData, batchSize = 32): Promise<OutputsEvaluation> {
  const task = pm.task ?? 'multiclass';
  if (task === 'multiclass') throw new TransferKitError('E_BAD_OPTION', 'evaluateOutputs() is for multilabel and regression heads; use evaluate() for a multiclass head.');
  if (data.targets === undefined) throw new TransferKitError('E_DATA', `evaluateOutputs: the data has no \`targets\` [N, K]; a '${task}' head is evaluated against targets.`);
  await checkLabels('evaluateOutputs', pm, data);
  const out = predict(pm, data.xs, batchSize);
  const targets = data.targets;
  const lossT = tf.tidy(() => taskLoss(task, out, targets));
  const [loss, pred, truth] = [(await lossT.data())[0], (await out.array()) as number[][], (await targets.array()) as number[][]];
  tf.dispose([lossT, out]);
  const k = pred[0]?.length ?? 0;
  const names = Array.from({ length: k }, (_, j) => pm.classNames?.[j] ?? String(j));
  const n = pred.length;
  if (task === 'multilabel') {
    const right = pred.map((row, i) => row.map((p, j) => ((p > 0.5) === (truth[i][j] > 0.5) ? 1 : 0)));
    return {
      task, loss,
      binaryAccuracy: right.flat().reduce((a: number, b) => a + b, 0) / (n * k),
      exactMatch: right.filter((r) => r.every((v) => v === 1)).length / n,
      perOutput: names.map((name, j) => ({ name, value: right.reduce((a, r) => a + r[j], 0) / n })),
    };
  }
  const abs = pred.map((row, i) => row.map((p, j) => Math.abs(p - truth[i][j])));
  return {
    task, loss,
    mae: abs.flat().reduce((a: number, b) => a + b, 0) / (n * k),
    rmse: Math.sqrt(abs.flat().reduce((a: number, b) => a + b * b, 0) / (n * k)),
    perOutput: names.map((name, j) => ({ name, value: abs.reduce((a, r) => a + r[j], 0) / n })),
  };
}
