/**
 * Mean prediction entropy on target data (lower is better): the simplest unsupervised selection
 * signal (Morerio et al., ICLR 2018, "Minimal-Entropy Correlation Alignment", use it to pick the
 * CORAL weight).
 */
import type * as tf from '@tensorflow/tfjs-core';
import { entropyLoss } from '../losses/entropy.js';

/** Mean of `-sum_k p log(p + 1e-5)` over the rows of `probs` [n, k]. */
export async function entropyScore(probs: tf.Tensor2D): Promise<number> {
  const t = entropyLoss(probs);
  const v = (await t.data())[0];
  t.dispose();
  return v;
}
