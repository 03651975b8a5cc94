/**
 * Deep CORAL: align the second-order statistics (covariances) of source and target features.
 */
import * as tf from '@tensorflow/tfjs-core';
import { checkFeaturePair } from './_check.js';

/** Which published form of the CORAL loss. */
export type CoralVariant = 'paper' | 'tllib';

/** Unbiased covariance `(f - mean)^T (f - mean) / (n - 1)` of the rows of `f` [n, d]. */
export function covariance(f: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const centred = tf.sub(f, tf.mean(f, 0, true));
    return tf.div(tf.matMul(centred, centred, true, false), f.shape[0] - 1) as tf.Tensor2D;
  });
}

/**
 * The CORAL loss between source features `fs` [ns, d] and target features `ft` [nt, d].
 * - `'paper'` (default): Sun & Saenko 2016, `||C_s - C_t||_F^2 / (4 d^2)`.
 * - `'tllib'`: tllib's `CorrelationAlignmentLoss`, `mean((mu_s - mu_t)^2) + mean((C_s - C_t)^2)`
 *   (4x the paper's covariance term, plus a mean-matching term).
 *
 * Reference: Sun & Saenko, "Deep CORAL", ECCV-W 2016, https://arxiv.org/abs/1607.01719 (eq. 1);
 * tllib `tllib.alignment.coral.CorrelationAlignmentLoss`.
 */
export function coralLoss(fs: tf.Tensor, ft: tf.Tensor, variant: CoralVariant = 'paper'): tf.Scalar {
  checkFeaturePair('coralLoss', fs, ft, 2);
  return tf.tidy(() => {
    const s = tf.reshape(fs, [fs.shape[0], -1]) as tf.Tensor2D;
    const t = tf.reshape(ft, [ft.shape[0], -1]) as tf.Tensor2D;
    const diff = tf.sub(covariance(s), covariance(t));
    if (variant === 'paper') {
      const d = s.shape[1];
      return tf.div(tf.sum(tf.square(diff)), 4 * d * d) as tf.Scalar;
    }
    const meanDiff = tf.mean(tf.square(tf.sub(tf.mean(s, 0), tf.mean(t, 0))));
    return tf.add(meanDiff, tf.mean(tf.square(diff))) as tf.Scalar;
  });
}
