/**
 * `Cast` on wasm without the copy when the dtype does not change: the output shares the input's
 * buffer (reference-counted), as `Identity.ts` does. Casts to bool compute `x != 0`, as the cpu
 * backend and TensorFlow do: wasm's stock kernel copies the values into bytes (int32 2 stays 2,
 * -1 becomes 255). Other casts go to the stock kernel.
 *
 * Why: tfjs-core's ReLU gradient is `dy * cast(step(x), 'float32')`, and `step` already returns
 * float32, so every ReLU layer's backward pass copied a full activation for nothing (MobileNetV2
 * at 96 px, batch 32: 316 such casts, ~50 ms of a ~1.5 s step).
 */
import * as tf from '@tensorflow/tfjs-core';
import { wrapStock } from './_wrap_stock.js';
import { asTensor } from '../../../ops/_conv_util.js';
import { sharedOutput } from './Identity.js';

/** Wraps wasm's own Cast: same-dtype casts share their buffer. */
export function castConfig(stock: tf.KernelConfig): tf.KernelConfig {
  return wrapStock(stock, (args) => {
    const { x } = args.inputs as unknown as { x: tf.TensorInfo };
    const { dtype } = args.attrs as unknown as tf.CastAttrs;
    if (dtype === 'bool' && x.dtype !== 'bool' && x.dtype !== 'string') {
      return tf.tidy(() => tf.notEqual(asTensor(x), 0));
    }
    return dtype !== x.dtype || x.dtype === 'string' ? null : sharedOutput(x, args.backend);
  });
}
