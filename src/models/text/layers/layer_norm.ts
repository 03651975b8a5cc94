/**
 * LayerNorm over the last axis with PyTorch's `nn.LayerNorm` arithmetic: biased variance,
 * `eps` inside the square root, affine `weight`/`bias` (HF key names).
 *
 * Why not `tf.layers.layerNormalization`: it was ~8x slower on wasm in a transformer probe
 * (../shared/NOTES-runtime.md), and its weights are named gamma/beta.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/** Constructor arguments of {@link LayerNorm}. */
export interface LayerNormArgs {
  /** Added to the variance (HF `layer_norm_eps`; BERT 1e-12). */
  epsilon: number;
  name?: string;
}

/** `y = (x - mean) / sqrt(var + eps) * weight + bias` over the last axis. */
export class LayerNorm extends tfl.layers.Layer {
  static className = 'TransferKitLayerNorm';
  readonly epsilon: number;
  private gamma!: tfl.LayerVariable;
  private beta!: tfl.LayerVariable;

  constructor(args: LayerNormArgs) {
    super({ name: args.name });
    this.epsilon = args.epsilon;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const d = s[s.length - 1] as number;
    this.gamma = this.addWeight('weight', [d], 'float32', tfl.initializers.ones());
    this.beta = this.addWeight('bias', [d], 'float32', tfl.initializers.zeros());
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const axis = x.rank - 1;
      const centred = tf.sub(x, tf.mean(x, axis, true));
      const variance = tf.mean(tf.square(centred), axis, true);
      const normed = tf.mul(centred, tf.rsqrt(tf.add(variance, this.epsilon)));
      return tf.add(tf.mul(normed, this.gamma.read()), this.beta.read());
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), epsilon: this.epsilon };
  }
}
tf.serialization.registerClass(LayerNorm);
