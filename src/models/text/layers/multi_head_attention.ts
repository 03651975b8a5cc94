/**
 * Scaled dot-product multi-head self-attention on already-projected queries, keys and values:
 * the core of HF `BertSelfAttention` (and DistilBERT's `MultiHeadSelfAttention`), without its
 * projections, which stay ordinary Dense layers named as the checkpoint (`...attention.self.query`)
 * so freezing, LoRA and weight loading address them like any other Dense layer.
 *
 * `softmax(Q K^T / sqrt(d_head) + mask) V` per head, where the additive mask is
 * `(1 - attention_mask) * -1e9` broadcast over heads and query positions (HF uses the dtype's
 * minimum; any value that underflows exp() after max-subtraction gives identical probabilities).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { nextDropoutSeed } from '../../../layers/seeded_dropout.js';

/** Constructor arguments of {@link MultiHeadAttention}. */
export interface MultiHeadAttentionArgs {
  numHeads: number;
  /** Dropout on the attention probabilities while training (HF `attention_probs_dropout_prob`). */
  dropout: number;
  name?: string;
}

/** Large negative logit for masked keys. */
const MASKED = -1e9;

/** Inputs `[query, key, value, attention_mask]` (`[B, T, H]` x3 and `[B, T]`); output `[B, T, H]`. */
export class MultiHeadAttention extends tfl.layers.Layer {
  static className = 'TransferKitMultiHeadAttention';
  readonly numHeads: number;
  readonly dropout: number;

  constructor(args: MultiHeadAttentionArgs) {
    super({ name: args.name });
    this.numHeads = args.numHeads;
    this.dropout = args.dropout;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return (inputShape as tfl.Shape[])[0];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    return tf.tidy(() => {
      const [q, k, v, mask] = inputs as tf.Tensor[];
      const [b, t, h] = q.shape;
      const nh = this.numHeads;
      const dh = h / nh;
      const heads = (x: tf.Tensor): tf.Tensor => tf.transpose(tf.reshape(x, [b, t, nh, dh]), [0, 2, 1, 3]);
      // Scale q before the product (as DistilBERT; BERT scales the scores; equal up to rounding).
      const scores = tf.matMul(tf.mul(heads(q), 1 / Math.sqrt(dh)), heads(k), false, true);
      const additive = tf.reshape(tf.mul(tf.sub(1, tf.cast(mask, 'float32')), MASKED), [b, 1, 1, t]);
      let probs = tf.softmax(tf.add(scores, additive));
      if (kwargs.training === true && this.dropout > 0) probs = tf.dropout(probs, this.dropout, undefined, nextDropoutSeed(this));
      const context = tf.matMul(probs, heads(v));
      return tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [b, t, h]);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), numHeads: this.numHeads, dropout: this.dropout };
  }
}
tf.serialization.registerClass(MultiHeadAttention);
