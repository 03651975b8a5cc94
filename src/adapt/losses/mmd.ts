/**
 * Multi-kernel maximum mean discrepancy (MK-MMD) of Deep Adaptation Networks, exactly as tllib
 * computes it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { stopGradient } from '../../ops/stop_gradient.js';
import { checkFeaturePair } from './_check.js';

/**
 * Gaussian kernel matrix of the rows of `x` [n, d] with tllib's bandwidth rule
 * (`GaussianKernel(alpha, track_running_stats=True)`): `sigma^2 = alpha * mean(D)` where `D` is
 * the matrix of squared pairwise distances (diagonal included, no gradient through sigma), and
 * `K = exp(-D / (2 sigma^2))`.
 */
export function gaussianKernelMatrix(x: tf.Tensor2D, alpha: number): tf.Tensor2D {
  return tf.tidy(() => {
    const sq = tf.sum(tf.square(x), 1, true);
    // |a - b|^2 = |a|^2 + |b|^2 - 2 a.b, clamped at 0 against rounding.
    const d = tf.relu(tf.sub(tf.add(sq, tf.transpose(sq)), tf.mul(2, tf.matMul(x, x, false, true))));
    const sigma2 = tf.mul(alpha, tf.mean(stopGradient(d)));
    return tf.exp(tf.div(tf.neg(d), tf.mul(2, sigma2))) as tf.Tensor2D;
  });
}

/** tllib's `_update_index_matrix`: weights turning the [2b, 2b] kernel matrix into the MMD estimate. */
export function mmdIndexMatrix(b: number, linear: boolean): Float32Array {
  const n = 2 * b;
  const m = new Float32Array(n * n);
  const set = (i: number, j: number, v: number) => (m[i * n + j] = v);
  if (linear) {
    for (let i = 0; i < b; i++) {
      const s1 = i;
      const s2 = (i + 1) % b;
      set(s1, s2, 1 / b);
      set(s1 + b, s2 + b, 1 / b);
      set(s1, s2 + b, -1 / b);
      set(s2, s1 + b, -1 / b);
    }
    return m;
  }
  for (let i = 0; i < b; i++) {
    for (let j = 0; j < b; j++) {
      if (i !== j) {
        set(i, j, 1 / (b * (b - 1)));
        set(i + b, j + b, 1 / (b * (b - 1)));
      }
      set(i, j + b, -1 / (b * b));
      set(i + b, j, -1 / (b * b));
    }
  }
  return m;
}

/** Options of {@link mkmmdLoss}. */
export interface MmdOptions {
  /** Bandwidth multipliers, one Gaussian kernel each (default `[2^-3, 2^-2, 2^-1, 1, 2]`, tllib's DAN example). */
  kernelAlphas?: number[];
  /** The linear-time estimate of Long et al. (default false: the quadratic one). */
  linear?: boolean;
}

/** tllib's DAN default kernel bank: `GaussianKernel(alpha = 2^k)` for k in -3..1. */
export const DAN_KERNEL_ALPHAS: readonly number[] = [0.125, 0.25, 0.5, 1, 2];

/**
 * MK-MMD between source features `fs` [b, d] and target features `ft` [b, d] (equal batch
 * sizes, as tllib requires): the kernels' matrices are summed, weighted by
 * {@link mmdIndexMatrix}, and `2 / (b - 1)` is added (tllib's correction for the dropped diagonal).
 *
 * Reference: Long et al., "Learning Transferable Features with Deep Adaptation Networks", ICML 2015,
 * https://arxiv.org/abs/1502.02791 ; tllib `tllib.alignment.dan.MultipleKernelMaximumMeanDiscrepancy`
 * and `tllib.modules.kernels.GaussianKernel`.
 */
export function mkmmdLoss(fs: tf.Tensor, ft: tf.Tensor, options: MmdOptions = {}): tf.Scalar {
  checkFeaturePair('mkmmdLoss', fs, ft, 2);
  const b = fs.shape[0];
  if (ft.shape[0] !== b) {
    checkFeaturePair(`mkmmdLoss (needs equal source and target batch sizes, got ${b} and ${ft.shape[0]})`, fs, ft, Number.POSITIVE_INFINITY);
  }
  const alphas = options.kernelAlphas ?? DAN_KERNEL_ALPHAS;
  return tf.tidy(() => {
    const x = tf.concat([tf.reshape(fs, [b, -1]), tf.reshape(ft, [b, -1])], 0) as tf.Tensor2D;
    let k: tf.Tensor2D | null = null;
    for (const a of alphas) {
      const ka = gaussianKernelMatrix(x, a);
      k = k === null ? ka : (tf.add(k, ka) as tf.Tensor2D);
    }
    const index = tf.tensor2d(mmdIndexMatrix(b, options.linear ?? false), [2 * b, 2 * b]);
    return tf.add(tf.sum(tf.mul(k as tf.Tensor2D, index)), 2 / (b - 1)) as tf.Scalar;
  });
}
