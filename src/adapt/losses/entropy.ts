/**
 * Prediction entropy, as tllib computes it.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * Entropy of each row of probabilities `p` [n, k]: `-sum_k p log(p + 1e-5)` (tllib
 * `tllib.modules.entropy.entropy`, whose epsilon keeps log finite at p = 0).
 */
export function predictionEntropy(p: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => tf.neg(tf.sum(tf.mul(p, tf.log(tf.add(p, 1e-5))), -1)) as tf.Tensor1D);
}

/**
 * Entropy minimisation (Grandvalet & Bengio 2004; tllib's `MinimumEntropy`-style term): the mean
 * prediction entropy over the batch, to be *minimised* on target data.
 */
export function entropyLoss(p: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(predictionEntropy(p)) as tf.Scalar);
}
