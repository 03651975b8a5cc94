/**
 * Sequence poolers: the first token's state (BERT's [CLS], input of HF `BertPooler` and of
 * DistilBERT's classifier) and the attention-masked mean (sentence-transformers' `mean` pooling).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/** `hidden[:, 0]`: `[B, T, H]` → `[B, H]`. */
export class FirstToken extends tfl.layers.Layer {
  static className = 'TransferKitFirstToken';

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const s = inputShape as tfl.Shape;
    return [s[0], s[2]];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      const [b, , h] = x.shape;
      return tf.reshape(tf.slice(x, [0, 0, 0], [b, 1, h]), [b, h]);
    });
  }
}
tf.serialization.registerClass(FirstToken);

/** Mean of the states whose attention mask is 1: inputs `[hidden [B,T,H], mask [B,T]]` → `[B, H]`. */
export class MaskedMeanPooling extends tfl.layers.Layer {
  static className = 'TransferKitMaskedMeanPooling';

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const s = (inputShape as tfl.Shape[])[0];
    return [s[0], s[2]];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const [x, mask] = inputs as tf.Tensor[];
      const m = tf.expandDims(tf.cast(mask, 'float32'), 2);
      // Clamp as sentence-transformers (1e-9) so an all-padding row gives zeros, not NaN.
      return tf.div(tf.sum(tf.mul(x, m), 1), tf.maximum(tf.sum(m, 1), 1e-9));
    });
  }
}
tf.serialization.registerClass(MaskedMeanPooling);
