/**
 * Training-mode batch normalisation over the last axis with a fused, memory-lean gradient.
 *
 * Why: tfjs-core's FusedBatchNorm gradient treats mean/variance as separate inputs (the batch
 * statistics' own gradient then flows back through `moments`) and materialises several
 * full-size temporaries per layer (including a `tile` of 1/sqrt(var)); the tape keeps every
 * backward temporary until the whole backward pass ends. With MobileNetV2's 52 BN layers that
 * was ~600 MB of wasm heap per 224 px image. Here the exact closed-form gradient
 *   dbeta = Σ dy,  dgamma = Σ dy·x̂,  dx = γ·rstd/M · (M·dy − dbeta − x̂·dgamma)
 * runs inside ONE kernel (`TkBatchNormTrainGrad`), whose temporaries are freed when it returns.
 *
 * Reference: Ioffe & Szegedy 2015, https://arxiv.org/abs/1502.03167 (section 3, the backward
 * pass); the forward is tfjs-layers' `normalizeBatchInTraining` (biased batch variance).
 */
import * as tf from '@tensorflow/tfjs-core';
import { asTensor } from './_conv_util.js';
import { BatchNormActTrain, BatchNormActTrainGrad, BatchNormTrain, BatchNormTrainGrad } from '../kernel_names.js';

/** The closed-form gradient with TF.js ops: returns [dx, dgamma, dbeta]. */
export function batchNormTrainGradComposed(dyT: tf.Tensor, xT: tf.Tensor, g: tf.Tensor1D, m: tf.Tensor1D, r: tf.Tensor1D): [tf.Tensor, tf.Tensor1D, tf.Tensor1D] {
  const axes = Array.from({ length: xT.rank - 1 }, (_, i) => i);
  const count = xT.size / g.size;
  const xhat = tf.mul(tf.sub(xT, m), r);
  const dbeta = tf.sum(dyT, axes) as tf.Tensor1D;
  const dgamma = tf.sum(tf.mul(dyT, xhat), axes) as tf.Tensor1D;
  const centered = tf.sub(tf.sub(dyT, tf.div(dbeta, count)), tf.mul(xhat, tf.div(dgamma, count)));
  const dx = tf.mul(centered, tf.mul(g, r));
  return [dx, dgamma, dbeta];
}

/**
 * The gradient of BN followed by ReLU/ReLU6 (clamp to [0, max]) with TF.js ops: `dy` masked where
 * `0 < pre <= max` (the activations' own gradients; NaN where pre is NaN), then the BN gradient.
 * Returns [dx, dgamma, dbeta].
 */
export function batchNormActTrainGradComposed(dyT: tf.Tensor, xT: tf.Tensor, g: tf.Tensor1D, b: tf.Tensor1D, m: tf.Tensor1D, r: tf.Tensor1D, max: number): [tf.Tensor, tf.Tensor1D, tf.Tensor1D] {
  const pre = tf.add(tf.mul(tf.mul(tf.sub(xT, m), r), g), b);
  const masked = tf.where(tf.isNaN(pre), pre, tf.where(tf.logicalAnd(tf.greater(pre, 0), tf.lessEqual(pre, max)), dyT, tf.zerosLike(dyT)));
  return batchNormTrainGradComposed(masked, xT, g, m, r);
}

/** True when the active backend runs BN + ReLU/ReLU6 as one training kernel (webgpu, wasm), so fusing them saves work. */
export function canFuseBatchNormActivation(): boolean {
  const backend = tf.getBackend();
  return tf.getKernel(BatchNormActTrain, backend) !== undefined && tf.getKernel(BatchNormActTrainGrad, backend) !== undefined;
}

/** The forward with TF.js ops (tfjs-layers' `normalizeBatchInTraining`): returns [y, mean, variance, rstd]. */
export function batchNormTrainComposed(xi: tf.Tensor, g: tf.Tensor1D, b: tf.Tensor1D, epsilon: number): [tf.Tensor, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D] {
  const axes = Array.from({ length: xi.rank - 1 }, (_, i) => i);
  const mv = tf.moments(xi, axes);
  const r = tf.rsqrt(tf.add(mv.variance, epsilon)) as tf.Tensor1D;
  const out = tf.add(tf.mul(tf.mul(tf.sub(xi, mv.mean), r), g), b);
  return [out, mv.mean as tf.Tensor1D, mv.variance as tf.Tensor1D, r];
}

function gradKernel(backendName: string): tf.KernelConfig {
  return {
    kernelName: BatchNormTrainGrad,
    backendName,
    kernelFunc: ({ inputs }) => {
      const { dy, x, gamma, mean, rstd } = inputs as unknown as Record<'dy' | 'x' | 'gamma' | 'mean' | 'rstd', tf.TensorInfo>;
      return tf.tidy(() => batchNormTrainGradComposed(asTensor(dy), asTensor(x), asTensor(gamma), asTensor(mean), asTensor(rstd))) as unknown as tf.TensorInfo[];
    },
  };
}

function ensureKernel(): void {
  const backend = tf.getBackend();
  // Composed of public ops, so it serves any backend; registered on first use per backend.
  if (tf.getKernel(BatchNormTrainGrad, backend) === undefined) tf.registerKernel(gradKernel(backend));
}

/** Result of {@link batchNormTrain}: the output plus the batch statistics (caller disposes them). */
export interface BatchNormTrainResult {
  y: tf.Tensor;
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
  /** The updated moving statistics, when asked for and the backend's kernel computed them (webgpu). */
  moving?: { mean: tf.Tensor1D; variance: tf.Tensor1D };
  /** True when `y` already includes the activation asked for (`activationMax`). */
  activated: boolean;
}

/** The moving statistics to update in the same kernel, where the backend can (tfjs-layers' momentum). */
export interface BatchNormMovingStats {
  mean: tf.Tensor;
  variance: tf.Tensor;
  momentum: number;
}

/**
 * `y = gamma * (x - mean_b) / sqrt(var_b + eps) + beta` with batch statistics over every axis
 * but the last, differentiable in x, gamma and beta through the fused gradient kernel.
 */
export function batchNormTrain(x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, epsilon: number, moving?: BatchNormMovingStats, activationMax?: number): BatchNormTrainResult {
  ensureKernel();
  // A fused ReLU/ReLU6 only where the backend has the kernels (see canFuseBatchNormActivation).
  const act = activationMax !== undefined && x.dtype === 'float32' && canFuseBatchNormActivation();
  const stats: { mean?: tf.Tensor1D; variance?: tf.Tensor1D; moving?: { mean: tf.Tensor1D; variance: tf.Tensor1D } } = {};
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, g, b] = args as tf.Tensor[];
    const save = args[3] as tf.GradSaveFunc;
    // A backend's one-kernel forward where it has one (wasm: `backends/wasm/kernels/BatchNormTrain.ts`).
    const fused = act || (xi.dtype === 'float32' && tf.getKernel(BatchNormTrain, tf.getBackend()) !== undefined);
    // Kernels that also update the moving statistics (webgpu) return them as outputs 5 and 6;
    // the others ignore the extra inputs and the caller updates them.
    const outs = fused
      ? (tf.engine().runKernel(act ? BatchNormActTrain : BatchNormTrain, { x: xi, gamma: g, beta: b, ...(moving === undefined ? {} : { movingMean: moving.mean, movingVariance: moving.variance }) }, { epsilon, ...(moving === undefined ? {} : { momentum: moving.momentum }), ...(act ? { max: activationMax } : {}) }) as tf.Tensor[])
      : tf.tidy(() => batchNormTrainComposed(xi, g as tf.Tensor1D, b as tf.Tensor1D, epsilon));
    const [y, mean, variance, rstd] = outs;
    if (outs.length === 6) stats.moving = { mean: tf.keep(outs[4]) as tf.Tensor1D, variance: tf.keep(outs[5]) as tf.Tensor1D };
    stats.mean = tf.keep(mean) as tf.Tensor1D;
    stats.variance = tf.keep(variance) as tf.Tensor1D;
    save([xi, g, mean, rstd, b]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const [sx, sg, sm, sr, sb] = saved;
        const outs = act
          ? (tf.engine().runKernel(BatchNormActTrainGrad, { dy: dy as tf.Tensor, x: sx, gamma: sg, beta: sb, mean: sm, rstd: sr }, { max: activationMax as number }) as tf.Tensor[])
          : (tf.engine().runKernel(BatchNormTrainGrad, { dy: dy as tf.Tensor, x: sx, gamma: sg, mean: sm, rstd: sr }, {}) as tf.Tensor[]);
        return [outs[0], outs[1], outs[2]];
      },
    };
  });
  const y = op(x, gamma, beta);
  return { y, mean: stats.mean as tf.Tensor1D, variance: stats.variance as tf.Tensor1D, activated: act, ...(stats.moving === undefined ? {} : { moving: stats.moving }) };
}

/** tfjs-layers' (and Keras') moving-average update with TF.js ops: `moving - (moving - batch) * (1 - momentum)`. */
export function batchNormMovingUpdateComposed(movingMean: tf.Tensor, movingVariance: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor, momentum: number): [tf.Tensor, tf.Tensor] {
  return [tf.sub(movingMean, tf.mul(tf.sub(movingMean, mean), 1 - momentum)), tf.sub(movingVariance, tf.mul(tf.sub(movingVariance, variance), 1 - momentum))];
}
