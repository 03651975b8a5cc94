/**
 * Gradient clipping by global norm, as `torch.nn.utils.clip_grad_norm_(params, max_norm)`:
 * total = sqrt(sum of squared gradient norms); every gradient is multiplied by
 * `min(1, maxNorm / (total + 1e-6))`.
 *
 * Why on-device: the coefficient is computed as a tensor (as torch does) so clipping never
 * forces a GPU→CPU read in the middle of a step; on WebGPU a synchronous read is not even
 * possible in Node.
 */
import * as tf from '@tensorflow/tfjs-core';
import { TransferKitError } from '../errors.js';

/**
 * Returns new, clipped gradients (the inputs are not disposed) and the total norm before
 * clipping as a scalar tensor (as torch returns a tensor). The caller disposes both.
 */
export function clipGradNorm(grads: tf.NamedTensorMap, maxNorm: number): { grads: tf.NamedTensorMap; totalNorm: tf.Scalar } {
  if (!(maxNorm > 0)) throw new TransferKitError('E_BAD_OPTION', `clipGradNorm: maxNorm must be > 0. Received: maxNorm=${maxNorm}.`);
  const names = Object.keys(grads);
  return tf.tidy(() => {
    // Pairwise adds, not addN: WebGPU's addN binds one storage buffer per input and fails past
    // the adapter's per-stage limit (8 at compatibility level) for models with many variables.
    const squares = names.map((k) => tf.sum(tf.square(grads[k])));
    const totalNorm = tf.sqrt(squares.reduce((a, b) => tf.add(a, b), tf.scalar(0))) as tf.Scalar;
    const coef = tf.minimum(tf.div(maxNorm, tf.add(totalNorm, 1e-6)), 1);
    const clipped: tf.NamedTensorMap = {};
    for (const k of names) clipped[k] = tf.mul(grads[k], coef);
    return { grads: clipped, totalNorm };
  });
}
