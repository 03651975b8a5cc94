/**
 * GELU as a layer, in both of HF's forms (`transformers/activations.py`):
 * - `'none'` (HF `gelu`, the BERT default): `0.5 x (1 + erf(x / sqrt 2))`;
 * - `'tanh'` (HF `gelu_new` / `gelu_pytorch_tanh`): `0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))`.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/** Which GELU formula; names as PyTorch `nn.GELU(approximate=...)`. */
export type GeluApproximation = 'none' | 'tanh';

/** The GELU function (exported for heads built from plain ops). */
export function gelu(x: tf.Tensor, approximate: GeluApproximation = 'none'): tf.Tensor {
  return tf.tidy(() => {
    if (approximate === 'tanh') {
      const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3))));
      return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
    }
    return tf.mul(tf.mul(0.5, x), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
  });
}

/** Element-wise GELU. */
export class Gelu extends tfl.layers.Layer {
  static className = 'TransferKitGelu';
  readonly approximate: GeluApproximation;

  constructor(args: { approximate?: GeluApproximation; name?: string } = {}) {
    super({ name: args.name });
    this.approximate = args.approximate ?? 'none';
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return gelu(Array.isArray(inputs) ? inputs[0] : inputs, this.approximate);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), approximate: this.approximate };
  }
}
tf.serialization.registerClass(Gelu);
