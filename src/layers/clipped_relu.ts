/**
 * tfjs-layers' `ReLU({ maxValue })` layers (ReLU6 in every Keras MobileNet) run as one clip
 * forward and one gradient kernel (`backends/clip_by_value_grad.ts` {@link clippedRelu}) instead of
 * relu + clip forward and clip-mask + step + multiply backward. We patch each layer *instance*'s
 * `call` (class and serialised config stay stock `ReLU`), as `batch_norm.ts` does for BN.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { clippedRelu } from '../backends/clip_by_value_grad.js';

type Callable = (inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) => tf.Tensor | tf.Tensor[];
const patched = new WeakSet<tfl.layers.Layer>();

/** Patches every `ReLU` layer of `model` that has a positive `maxValue`. Idempotent. */
export function fuseClippedRelu(model: tfl.LayersModel): void {
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'ReLU' || patched.has(layer)) continue;
    const max = (layer as unknown as { maxValue?: number | null }).maxValue;
    if (max === undefined || max === null || !(max > 0)) continue;
    (layer as unknown as { call: Callable }).call = (inputs) => clippedRelu(Array.isArray(inputs) ? inputs[0] : inputs, max);
    patched.add(layer);
  }
}
