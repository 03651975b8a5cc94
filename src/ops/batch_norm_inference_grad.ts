/**
 * The gradient of inference-mode batch normalisation (`tf.batchNorm`, the `FusedBatchNorm`
 * kernel, with fixed moving statistics): what BatchNorm layers run whose statistics are frozen
 * while gradients pass through them — `bn: 'train-affine'` (gamma/beta train), and `'frozen'`
 * BN inside trained blocks (its input gradient reaches the trainable convolutions below it).
 *
 * Why: tfjs-core's gradient computes x − mean and dy·gamma eagerly, whichever inputs the tape
 * needs, and builds dx by `tile`-ing 1/sqrt(var + eps) to the full input shape before
 * multiplying. TF.js 4.22's wasm `Tile` kernel is a per-element JavaScript loop: measured here it
 * took 4.0 s of a 5.2 s training step of MobileNetV2-0.35 (224 px, 16 images, every layer
 * trainable, statistics frozen), which made that step 7.3x slower than the same step with batch
 * statistics (`docs/performance.md`, `bench/wasm-profile.ts --bn train-affine`). With fixed statistics the layer is a per-channel affine map,
 * y = (x − mean)·s + beta with s = gamma / sqrt(var + eps), so
 *   dx = dy·s (broadcast, no tile),  dgamma = Σ dy·(x − mean)/sqrt(var + eps),  dbeta = Σ dy,
 *   dmean = −Σ dy·s,  dvar = Σ dy·gamma·(x − mean)·(−½)(var + eps)^(−3/2),
 * the sums over every axis the statistics broadcast along. Each is computed only when the tape
 * asks for it (the moving statistics are not trainable, so their two never run in fine-tuning).
 * Values equal tfjs-core's gradient up to float rounding (test/ops/batch_norm_inference_grad.test.ts).
 *
 * Reference: Ioffe & Szegedy 2015, https://arxiv.org/abs/1502.03167 (inference-mode BN is the
 * affine transform of section 3.1).
 */
import * as tf from '@tensorflow/tfjs-core';

interface FusedBatchNormAttrs {
  varianceEpsilon: number;
}

/** `t` summed over the axes along which a statistic of `shape` was broadcast to x, in `shape`. */
function reduceTo(t: tf.Tensor, shape: number[], xShape: number[]): tf.Tensor {
  const axes = tf.backend_util.getReductionAxes(shape, xShape);
  return tf.reshape(axes.length > 0 ? tf.sum(t, axes) : t, shape);
}

let registered = false;

/** Replaces tfjs-core's `FusedBatchNorm` gradient with the one above (idempotent). */
export function registerBatchNormInferenceGrad(): void {
  if (registered) return;
  registered = true;
  tf.registerGradient({
    kernelName: tf.FusedBatchNorm,
    inputsToSave: ['x', 'mean', 'variance', 'scale'],
    gradFunc: (dy, saved, attrs) => {
      const [x, mean, variance, scale] = saved as (tf.Tensor | undefined)[] as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor | undefined];
      const { varianceEpsilon } = attrs as unknown as FusedBatchNormAttrs;
      const g = dy as tf.Tensor;
      const rstd = () => tf.rsqrt(tf.add(variance, varianceEpsilon));
      const gamma = () => scale ?? tf.scalar(1);
      return {
        x: () => tf.mul(g, tf.mul(gamma(), rstd())),
        scale: () => reduceTo(tf.mul(g, tf.mul(tf.sub(x, mean), rstd())), (scale ?? mean).shape, x.shape),
        offset: () => reduceTo(g, mean.shape, x.shape),
        mean: () => reduceTo(tf.neg(tf.mul(g, tf.mul(gamma(), rstd()))), mean.shape, x.shape),
        variance: () => {
          const r = rstd();
          return reduceTo(tf.mul(tf.mul(g, tf.sub(x, mean)), tf.mul(gamma(), tf.mul(tf.pow(r, 3), -0.5))), variance.shape, x.shape);
        },
      };
    },
  });
}
