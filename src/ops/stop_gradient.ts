/**
 * `stopGradient(x)`: `x` forward, zero gradient backward (TF.js has no such op; TensorFlow's
 * `tf.stop_gradient`, PyTorch's `.detach()`). Used where a formula treats a computed value as a
 * constant: tllib's kernel bandwidth, pseudo-labels, entropy weights.
 */
import * as tf from '@tensorflow/tfjs-core';

export function stopGradient<T extends tf.Tensor>(x: T): T {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({ value: tf.clone(args[0] as tf.Tensor), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) }));
  return op(x) as T;
}

/**
 * `fn(x)` computed as a constant of the gradient tape: forward `fn(x)`, zero gradient to `x`.
 * Why not `fn(stopGradient(x))`: TF.js still walks every op between `x` and the loss and
 * fails on ops without a gradient (argMax, greater), even when the gradient reaching them is 0.
 * The ops inside a custom-gradient forward are not recorded, so none of them is walked.
 */
export function constantOf<T extends tf.Tensor>(x: tf.Tensor, fn: (x: tf.Tensor) => T): T {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor;
    return { value: fn(input), gradFunc: () => tf.zerosLike(input) };
  });
  return op(x) as T;
}
