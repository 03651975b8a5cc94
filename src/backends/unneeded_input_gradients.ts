/**
 * Convolutions whose input gradient nobody reads during the current training step.
 *
 * Why: TF.js's fused convolutions (what every Keras conv layer runs) compute their gradients in
 * one `customGrad` closure, input gradient included, even when the input does not depend on any
 * trained variable — the stem convolution on the images, or the first trainable convolution
 * above a frozen or cached prefix. PyTorch's autograd skips those (`requires_grad=False`
 * inputs). The training step lists such convolutions' filters here for the duration of its
 * backward pass, and transferkit's wasm convolution-input-gradient kernels return zeros for
 * them instead of computing a result the tape then discards (ResNet50 at 224 px: 240 ms of a
 * 4.2 s micro-batch step for the stem alone).
 */
import type * as tf from '@tensorflow/tfjs-core';

const unneeded = new Set<object>();

/** Runs `f` with the input gradients of convolutions over these filters marked unneeded. */
export function withUnneededInputGradients<T>(filters: readonly tf.Tensor[], f: () => T): T {
  const added = filters.map((t) => t.dataId).filter((id) => !unneeded.has(id));
  for (const id of added) unneeded.add(id);
  try {
    return f();
  } finally {
    for (const id of added) unneeded.delete(id);
  }
}

/** True when the input gradient of a convolution over `filter` is marked unneeded. */
export function inputGradientUnneeded(filter: tf.TensorInfo): boolean {
  return unneeded.size > 0 && unneeded.has(filter.dataId);
}
