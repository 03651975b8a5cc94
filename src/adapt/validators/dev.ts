/**
 * Deep Embedded Validation (DEV): estimates the *target* risk of a model from labelled source
 * validation data, importance-weighted by how target-like each example's features are, with a
 * control variate that cuts the estimator's variance. Lower is better.
 *
 * Reference: You et al., "Towards Accurate Model Selection in Deep Unsupervised Domain
 * Adaptation", ICML 2019, http://proceedings.mlr.press/v97/you19a.html (Algorithm 1, `get_dev_risk`
 * and `get_weight` of the authors' code; pytorch-adapt `DeepEmbeddedValidator`).
 */
import * as tf from '@tensorflow/tfjs-core';
import { TransferKitError } from '../../errors.js';

/**
 * The DEV risk from per-example importance weights `w` and losses `e` of the source validation
 * set: with `L = w e`, `eta = -Cov(L, w) / Var(w)` (both with n - 1), the risk is
 * `mean(L) + eta mean(w) - eta`.
 */
export function devRisk(weights: ArrayLike<number>, losses: ArrayLike<number>): number {
  const n = weights.length;
  if (n !== losses.length || n < 2) throw new TransferKitError('E_DATA', `devRisk needs as many weights as losses, at least 2. Received: ${n} weights, ${losses.length} losses.`);
  let mw = 0;
  let ml = 0;
  for (let i = 0; i < n; i++) {
    mw += weights[i];
    ml += weights[i] * losses[i];
  }
  mw /= n;
  ml /= n;
  let cov = 0;
  let varW = 0;
  for (let i = 0; i < n; i++) {
    const dw = weights[i] - mw;
    cov += (weights[i] * losses[i] - ml) * dw;
    varW += dw * dw;
  }
  cov /= n - 1;
  varW /= n - 1;
  // All weights equal: the control variate is undefined and the plain weighted mean is the estimate.
  if (varW === 0) return ml;
  const eta = -cov / varW;
  return ml + eta * mw - eta;
}

/** Options of {@link importanceWeights}. */
export interface ImportanceWeightOptions {
  /** Full-batch Adam steps of the logistic-regression domain classifier (default 300). */
  steps?: number;
  /** Its learning rate (default 0.05). */
  learningRate?: number;
  /** L2 penalty on its weights (default 1e-3). */
  l2?: number;
}

/**
 * Density-ratio weights `w(x) = p(target | x) / p(source | x) * n_s / n_t` for the rows of
 * `valFeatures`, from a domain classifier trained to tell `sourceFeatures` (label 1) from
 * `targetFeatures` (label 0). Divergence from You et al.: their classifier is a scikit-learn MLP
 * whose weight decay is picked on a held-out split; ours is an L2-regularised logistic regression
 * on standardised features (deterministic, no extra split).
 */
export async function importanceWeights(sourceFeatures: tf.Tensor2D, targetFeatures: tf.Tensor2D, valFeatures: tf.Tensor2D, options: ImportanceWeightOptions = {}): Promise<Float32Array> {
  const { steps = 300, learningRate = 0.05, l2 = 1e-3 } = options;
  const ns = sourceFeatures.shape[0];
  const nt = targetFeatures.shape[0];
  const d = sourceFeatures.shape[1];
  if (targetFeatures.shape[1] !== d || valFeatures.shape[1] !== d) {
    throw new TransferKitError('E_DATA', `importanceWeights: feature sizes differ. Received: source ${d}, target ${targetFeatures.shape[1]}, validation ${valFeatures.shape[1]}.`);
  }
  // Inside tidies, so intermediates (and the variables' initial values) are freed.
  const { mean, std, xs, y } = tf.tidy(() => {
    const x = tf.concat([sourceFeatures, targetFeatures], 0);
    const m = tf.moments(x, 0);
    const sd = tf.sqrt(tf.add(m.variance, 1e-8));
    return { mean: m.mean, std: sd, xs: tf.div(tf.sub(x, m.mean), sd), y: tf.concat([tf.ones([ns, 1]), tf.zeros([nt, 1])], 0) };
  });
  const w = tf.tidy(() => tf.variable(tf.zeros([d, 1]), true, undefined));
  const b = tf.tidy(() => tf.variable(tf.zeros([1]), true, undefined));
  const opt = tf.train.adam(learningRate);
  for (let i = 0; i < steps; i++) {
    tf.tidy(() => {
      opt.minimize(() => {
        const logits = tf.add(tf.matMul(xs, w), b);
        const bce = tf.mean(tf.sub(tf.add(tf.relu(logits), tf.log1p(tf.exp(tf.neg(tf.abs(logits))))), tf.mul(logits, y)));
        return tf.add(bce, tf.mul(l2, tf.sum(tf.square(w)))) as tf.Scalar;
      });
    });
  }
  const weights = tf.tidy(() => {
    const v = tf.div(tf.sub(valFeatures, mean), std);
    const ps = tf.clipByValue(tf.sigmoid(tf.add(tf.matMul(v, w), b)), 1e-6, 1 - 1e-6);
    return tf.reshape(tf.mul(tf.div(tf.sub(1, ps), ps), ns / nt), [-1]);
  });
  const out = (await weights.data()) as Float32Array;
  tf.dispose([mean, std, xs, y, w, b, weights]);
  opt.dispose();
  return out;
}
