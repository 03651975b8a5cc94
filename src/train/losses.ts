/**
 * The loss and metric of each head task, with Keras' exact formulas:
 * - multiclass: `categorical_crossentropy` (probabilities clipped to [1e-7, 1]) and accuracy;
 * - multilabel: `binary_crossentropy` (clip to [1e-7, 1 - 1e-7], mean over the labels of an
 *   example, then over the batch; label smoothing `y (1 - ε) + ε / 2`) and `binary_accuracy`
 *   (threshold 0.5, mean over labels);
 * - regression: `mean_squared_error` (mean over outputs, then batch) and mean absolute error.
 * NaNs are carried through the clips (wasm's clamp maps NaN to a bound, which would hide a
 * diverged network behind a finite loss).
 */
import * as tf from '@tensorflow/tfjs-core';
import { TransferKitError } from '../errors.js';
import { CrossEntropy, CrossEntropyGrad, MulticlassHits } from '../kernel_names.js';
import type { HeadTask } from '../models/pretrained_model.js';

/** Options of the training loss. */
export interface LossOptions {
  /**
   * Label smoothing ε: multiclass targets become `y (1 - ε) + ε / numClasses` (Keras
   * `categorical_crossentropy(label_smoothing=ε)`; the same distribution as fastai's
   * `LabelSmoothingCrossEntropy`); multilabel targets `y (1 - ε) + ε / 2` (Keras
   * `binary_crossentropy`). Default 0. Not used for regression.
   */
  labelSmoothing?: number;
  /**
   * Weight per class (multiclass only): each example's loss is multiplied by its class's weight
   * and the batch loss is `sum(w_i l_i) / N`, as Keras' `class_weight` (Divergence: PyTorch's
   * `CrossEntropyLoss(weight)` divides by `sum(w_i)` instead).
   */
  classWeights?: number[];
}

const EPS = 1e-7;

function clipKeepNaN(x: tf.Tensor, lo: number, hi: number): tf.Tensor {
  return tf.where(tf.isNaN(x), x, tf.clipByValue(x, lo, hi));
}

/**
 * The same loss (no class weights) as one kernel forward and one backward where the backend has
 * them (webgpu: ~16 dispatches fewer per step). The target is a constant of the gradient.
 */
function fusedCrossEntropy(probs: tf.Tensor, target: tf.Tensor): tf.Scalar {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const p = args[0] as tf.Tensor;
    // The target is saved, not captured: a smoothed target is made inside the loss function, and
    // tf.variableGrads disposes the forward's tensors before the backward pass (saved ones survive).
    (args[1] as tf.GradSaveFunc)([p, target]);
    return {
      value: tf.engine().runKernel(CrossEntropy, { probs: p, target }, { epsilon: EPS }) as tf.Scalar,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => tf.engine().runKernel(CrossEntropyGrad, { dy: dy as tf.Tensor, probs: saved[0], target: saved[1] }, { epsilon: EPS }) as tf.Tensor,
    };
  });
  return (op as (p: tf.Tensor) => tf.Scalar)(probs);
}

/** Mean categorical cross-entropy of softmax probabilities (with optional smoothing and class weights). */
export function crossEntropy(probs: tf.Tensor, oneHot: tf.Tensor, options: LossOptions = {}): tf.Scalar {
  const eps = options.labelSmoothing ?? 0;
  const k = oneHot.shape[oneHot.shape.length - 1] as number;
  const target = eps > 0 ? tf.add(tf.mul(oneHot, 1 - eps), eps / k) : oneHot;
  const backend = tf.getBackend();
  const fusable = probs.size > 0 && probs.rank >= 1 && tf.util.arraysEqual(probs.shape, target.shape);
  if (fusable && options.classWeights === undefined && probs.dtype === 'float32' && (target.dtype === 'float32' || target.dtype === 'int32') && tf.getKernel(CrossEntropy, backend) !== undefined && tf.getKernel(CrossEntropyGrad, backend) !== undefined) {
    return fusedCrossEntropy(probs, target);
  }
  const p = clipKeepNaN(probs, EPS, 1);
  let perExample = tf.neg(tf.sum(tf.mul(target, tf.log(p)), -1));
  if (options.classWeights !== undefined) perExample = tf.mul(perExample, tf.sum(tf.mul(oneHot, tf.tensor1d(options.classWeights)), -1));
  return tf.mean(perExample) as tf.Scalar;
}

/** Keras `binary_crossentropy` on sigmoid probabilities: mean over labels, then over the batch. */
export function binaryCrossEntropy(probs: tf.Tensor, targets: tf.Tensor, options: LossOptions = {}): tf.Scalar {
  const p = clipKeepNaN(probs, EPS, 1 - EPS);
  const eps = options.labelSmoothing ?? 0;
  const y = eps > 0 ? tf.add(tf.mul(targets, 1 - eps), eps / 2) : targets;
  const ll = tf.add(tf.mul(y, tf.log(p)), tf.mul(tf.sub(1, y), tf.log(tf.sub(1, p))));
  return tf.neg(tf.mean(tf.mean(ll, -1))) as tf.Scalar;
}

/** Keras `mean_squared_error`: mean over outputs, then over the batch. */
export function meanSquaredError(pred: tf.Tensor, targets: tf.Tensor): tf.Scalar {
  return tf.mean(tf.mean(tf.squaredDifference(pred, targets), -1)) as tf.Scalar;
}

/** The loss of `task` (batch mean). */
export function taskLoss(task: HeadTask, out: tf.Tensor, targets: tf.Tensor, options: LossOptions = {}): tf.Scalar {
  if (task === 'multiclass') return crossEntropy(out, targets, options);
  if (options.classWeights !== undefined) {
    throw new TransferKitError('E_BAD_OPTION', `classWeights apply to multiclass heads only. Received: classWeights with task '${task}'.`);
  }
  if (task === 'multilabel') return binaryCrossEntropy(out, targets, options);
  return meanSquaredError(out, targets);
}

/**
 * The metric of `task` summed over the batch (divide by the example count for the mean):
 * correct predictions (multiclass), correct label decisions per example averaged over labels
 * (multilabel, Keras `binary_accuracy`), mean absolute error per example (regression).
 */
export function taskMetricSum(task: HeadTask, out: tf.Tensor, targets: tf.Tensor): tf.Scalar {
  if (task === 'multiclass') {
    // One kernel where the backend has it (webgpu), else the composition.
    const fused = out.dtype === 'float32' && (targets.dtype === 'float32' || targets.dtype === 'int32') && out.size > 0 && tf.util.arraysEqual(out.shape, targets.shape) && tf.getKernel(MulticlassHits, tf.getBackend()) !== undefined;
    if (fused) return tf.engine().runKernel(MulticlassHits, { out, target: targets }, {}) as tf.Scalar;
    return tf.sum(tf.cast(tf.equal(tf.argMax(out, -1), tf.argMax(targets, -1)), 'float32')) as tf.Scalar;
  }
  if (task === 'multilabel') return tf.sum(tf.mean(tf.cast(tf.equal(tf.greater(out, 0.5), tf.greater(targets, 0.5)), 'float32'), -1)) as tf.Scalar;
  return tf.sum(tf.mean(tf.abs(tf.sub(out, targets)), -1)) as tf.Scalar;
}
