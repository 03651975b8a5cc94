/**
 * Gradient clipping by global norm, as `torch.nn.utils.clip_grad_norm_(params, max_norm)`:
 * total = sqrt(sum of squared gradient norms); every gradient is multiplied by
 * `min(1, maxNorm / (total + 1e-6))`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { TransferKitError } from '../errors.js';

/**
 * Returns new, clipped gradients (the inputs are not disposed) and the total norm before clipping.
 */
export function clipGradNorm(grads: tf.NamedTensorMap, maxNorm: number): { grads: tf.NamedTensorMap; totalNorm: number } {
  if (!(maxNorm > 0)) throw new TransferKitError('E_BAD_OPTION', `clipGradNorm: maxNorm must be > 0. Received: maxNorm=${maxNorm}.`);
  const names = Object.keys(grads);
  const totalNorm = tf.tidy(() => Math.sqrt(names.reduce((acc, k) => acc + tf.sum(tf.square(grads[k])).dataSync()[0], 0)));
  const coef = Math.min(1, maxNorm / (totalNorm + 1e-6));
  const clipped: tf.NamedTensorMap = {};
  for (const k of names) clipped[k] = coef < 1 ? tf.mul(grads[k], coef) : tf.clone(grads[k]);
  return { grads: clipped, totalNorm };
}
