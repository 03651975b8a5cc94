/**
 * Soft Neighborhood Density (SND): an unsupervised score of a domain-adapted classifier on
 * target data — higher is better. A good adapted model puts each target example in a dense
 * neighbourhood of similar predictions, so the softmax over its similarities to the others has
 * high entropy.
 *
 * Reference: Saito et al., "Tune it the Right Way: Unsupervised Validation of Domain Adaptation
 * via Soft Neighborhood Density", ICCV 2021, https://arxiv.org/abs/2108.10860 ; pytorch-adapt
 * `SNDValidator(layer="preds", T=0.05)`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { TransferKitError } from '../../errors.js';

/**
 * SND of target probabilities `probs` [n, k]: rows L2-normalised, cosine similarity matrix with
 * the diagonal removed ([n, n-1]), row-wise softmax of `sim / temperature`, mean row entropy.
 */
export async function sndScore(probs: tf.Tensor2D, temperature = 0.05): Promise<number> {
  const n = probs.shape[0];
  if (n < 3) throw new TransferKitError('E_DATA', `SND needs at least 3 target examples. Received: ${n}.`);
  if (!(temperature > 0)) throw new TransferKitError('E_BAD_OPTION', `SND temperature must be > 0. Received: temperature=${temperature}.`);
  const t = tf.tidy(() => {
    const f = tf.div(probs, tf.maximum(tf.norm(probs, 'euclidean', 1, true), 1e-12));
    const sim = tf.matMul(f, f, false, true);
    // Drop the diagonal: row i keeps columns j != i (n - 1 of them).
    const idx = tf.tensor1d(Array.from({ length: n * n }, (_, i) => i).filter((i) => Math.floor(i / n) !== i % n), 'int32');
    const off = tf.reshape(tf.gather(tf.reshape(sim, [n * n]), idx), [n, n - 1]);
    const p = tf.softmax(tf.div(off, temperature), -1);
    const ent = tf.neg(tf.sum(tf.mul(p, tf.log(tf.maximum(p, 1e-30))), -1));
    return tf.mean(ent);
  });
  const v = (await t.data())[0];
  t.dispose();
  return v;
}
