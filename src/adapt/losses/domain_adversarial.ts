/**
 * The domain-adversarial loss of DANN and the discriminator that computes it.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { prepareModel } from '../../layers/prepare_model.js';
import { TransferKitError } from '../../errors.js';

/** Options of {@link domainDiscriminator} (tllib `DomainDiscriminator`). */
export interface DomainDiscriminatorOptions {
  /** Width of the hidden layers (default 1024, as tllib). */
  hiddenSize?: number;
  /** Number of hidden layers (default 2, as tllib; Ganin et al. use 1 for digits and 0, a logistic regression, for sentiment). */
  hiddenLayers?: number;
  /** BatchNorm after each hidden layer (default true); false uses Dropout instead, as tllib. */
  batchNorm?: boolean;
  /**
   * Dropout rate after each hidden layer when `batchNorm` is false (default 0.5, as tllib's
   * `DomainDiscriminator(batch_norm=False)`). 0 adds no dropout: Ganin & Lempitsky's digits
   * discriminator (FC100 → ReLU → FC1) has none.
   */
  dropout?: number;
  /** Seed of the weight initialisers. */
  seed?: number;
  /** Name prefix of its layers (default 'domain_discriminator'). */
  name?: string;
}

/**
 * tllib's `DomainDiscriminator(in_feature, hidden_size)`: Dense → BN → ReLU → Dense → BN → ReLU →
 * Dense(1) → sigmoid, predicting 1 for source and 0 for target.
 */
export function domainDiscriminator(inFeatures: number, options: DomainDiscriminatorOptions = {}): tfl.LayersModel {
  const hidden = options.hiddenSize ?? 1024;
  const bn = options.batchNorm ?? true;
  const name = options.name ?? 'domain_discriminator';
  const seed = options.seed ?? 0;
  const init = (k: number) => tfl.initializers.glorotUniform({ seed: seed + k });
  // Functional (not Sequential), so layer 0 is the input layer, as the graph executor expects.
  const input = tfl.input({ shape: [inFeatures], name: `${name}_input` });
  let h = input as tfl.SymbolicTensor;
  const depth = options.hiddenLayers ?? 2;
  const rate = options.dropout ?? 0.5;
  if (!(rate >= 0 && rate < 1)) throw new TransferKitError('E_BAD_OPTION', `domainDiscriminator: dropout must be in [0, 1); received ${rate}. Use 0 for no dropout (the paper's digits discriminator).`);
  for (let k = 1; k <= depth; k++) {
    h = tfl.layers.dense({ units: hidden, kernelInitializer: init(k), name: `${name}_dense${k}` }).apply(h) as tfl.SymbolicTensor;
    if (bn) h = tfl.layers.batchNormalization({ name: `${name}_bn${k}` }).apply(h) as tfl.SymbolicTensor;
    h = tfl.layers.activation({ activation: 'relu', name: `${name}_relu${k}` }).apply(h) as tfl.SymbolicTensor;
    // No fixed dropout seed: TF.js would repeat one mask at every call (DomainAdapter seeds each call).
    if (!bn && rate > 0) h = tfl.layers.dropout({ rate, name: `${name}_drop${k}` }).apply(h) as tfl.SymbolicTensor;
  }
  const out = tfl.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer: init(depth + 1), name: `${name}_out` }).apply(h) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: out, name });
  prepareModel(model);
  return model;
}

/**
 * tllib's `DomainAdversarialLoss` on discriminator outputs: `0.5 (BCE(d_s, 1) + BCE(d_t, 0))`,
 * each BCE the batch mean (probabilities clipped to [1e-7, 1 - 1e-7]). Also returns the
 * discriminator's accuracy, `0.5 (acc_s + acc_t)` at threshold 0.5.
 *
 * Reference: Ganin et al., JMLR 2016, https://jmlr.org/papers/v17/15-239.html (eq. 9-10);
 * tllib `tllib.alignment.dann.DomainAdversarialLoss`.
 */
export function domainAdversarialLoss(dSource: tf.Tensor, dTarget: tf.Tensor): { loss: tf.Scalar; accuracy: tf.Scalar } {
  return tf.tidy(() => {
    const ps = tf.clipByValue(dSource, 1e-7, 1 - 1e-7);
    const pt = tf.clipByValue(dTarget, 1e-7, 1 - 1e-7);
    const bceS = tf.neg(tf.mean(tf.log(ps)));
    const bceT = tf.neg(tf.mean(tf.log(tf.sub(1, pt))));
    const loss = tf.mul(0.5, tf.add(bceS, bceT)) as tf.Scalar;
    const accS = tf.mean(tf.cast(tf.greaterEqual(dSource, 0.5), 'float32'));
    const accT = tf.mean(tf.cast(tf.less(dTarget, 0.5), 'float32'));
    const accuracy = tf.mul(0.5, tf.add(accS, accT)) as tf.Scalar;
    return { loss, accuracy };
  });
}
