/**
 * Confidence-thresholded self-training on unlabelled target data.
 */
import * as tf from '@tensorflow/tfjs-core';
import { TransferKitError } from '../../errors.js';
import { constantOf } from '../../ops/stop_gradient.js';

/** Pseudo-labels of probabilities `p` [n, k]: arg-max class, its confidence, and whether it passes `threshold` (strictly greater). */
export function pseudoLabels(p: tf.Tensor2D, threshold: number): { labels: tf.Tensor1D; confidence: tf.Tensor1D; mask: tf.Tensor1D } {
  if (!(threshold >= 0 && threshold <= 1)) throw new TransferKitError('E_BAD_OPTION', `Self-training threshold must be in [0, 1]. Received: threshold=${threshold}.`);
  return tf.tidy(() => {
    const confidence = tf.max(p, -1) as tf.Tensor1D;
    const labels = tf.argMax(p, -1) as tf.Tensor1D;
    const mask = tf.cast(tf.greater(confidence, threshold), 'float32') as tf.Tensor1D;
    return { labels, confidence, mask };
  });
}

/**
 * tllib's `ConfidenceBasedSelfTrainingLoss(threshold)`: pseudo-labels are the arg-max of the
 * (gradient-stopped) predictions `pTarget`; the cross-entropy of `p` against them counts only
 * where the confidence is > `threshold`, and is averaged over the *whole* batch (masked examples
 * contribute 0, as tllib's `(ce * mask).mean()`). `p` and `pTarget` are probabilities; they are
 * usually the same tensor (tllib feeds a strongly and a weakly augmented view).
 *
 * Reference: tllib `tllib.self_training.pseudo_label.ConfidenceBasedSelfTrainingLoss`; Lee 2013,
 * "Pseudo-Label".
 */
export function selfTrainingLoss(p: tf.Tensor2D, pTarget: tf.Tensor2D, threshold: number): tf.Scalar {
  return tf.tidy(() => {
    const k = p.shape[1];
    // One-hot pseudo-labels times the confidence mask: a constant of the gradient tape.
    const targets = constantOf(pTarget, (q) => {
      const { labels, mask } = pseudoLabels(q as tf.Tensor2D, threshold);
      return tf.mul(tf.oneHot(tf.cast(labels, 'int32'), k), tf.expandDims(mask, 1));
    });
    const ce = tf.neg(tf.sum(tf.mul(targets, tf.log(tf.clipByValue(p, 1e-7, 1))), -1));
    return tf.mean(ce) as tf.Scalar;
  });
}
