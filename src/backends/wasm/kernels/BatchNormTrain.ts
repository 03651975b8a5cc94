/**
 * Training-mode batch normalisation on wasm, forward (`TkBatchNormTrain`) and gradient
 * (`TkBatchNormTrainGrad`), each as two SIMD passes over the activation
 * (`../simd/batch_norm.wat`) instead of ~6 (forward) and ~9 (gradient) element-wise TF.js kernels.
 * Same formulas as `ops/batch_norm_train.ts` (biased batch variance, Ioffe & Szegedy's closed-form
 * gradient); sums in float64, so the values agree with the composed ops to float32 rounding.
 * Falls back to the composed ops where the SIMD kernels cannot run.
 */
import * as tf from '@tensorflow/tfjs-core';
import { asTensor } from '../../../ops/_conv_util.js';
import { BatchNormTrain, BatchNormTrainGrad } from '../../../kernel_names.js';
import { batchNormTrainComposed, batchNormTrainGradComposed } from '../../../ops/batch_norm_train.js';
import { simdKernels } from '../simd/simd_kernels.js';

export const batchNormTrainConfig: tf.KernelConfig = {
  kernelName: BatchNormTrain,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs, backend }) => {
    const { x, gamma, beta } = inputs as unknown as Record<'x' | 'gamma' | 'beta', tf.TensorInfo>;
    const { epsilon } = attrs as unknown as { epsilon: number };
    const c = x.shape[x.shape.length - 1];
    const rows = tf.util.sizeFromShape(x.shape) / c;
    const simd = rows > 0 ? simdKernels(backend) : null;
    if (simd === null) return tf.tidy(() => batchNormTrainComposed(asTensor(x), asTensor(gamma), asTensor(beta), epsilon)) as unknown as tf.TensorInfo[];
    const y = simd.output(x.shape);
    const [mean, variance, rstd] = [simd.output([c]), simd.output([c]), simd.output([c])];
    // Scratch: s1, s2 (float64 totals), blk1, blk2 (float32 block sums), scale.
    const s = simd.scratch(8 * c * 2 + 4 * c * 3);
    const [s1, s2] = [s.offset, s.offset + 8 * c];
    const [blk1, blk2, scale] = [s.offset + 16 * c, s.offset + 20 * c, s.offset + 24 * c];
    const xo = simd.offset(x);
    simd.bnStats(xo, rows, c, xo, blk1, blk2, s1, s2); // shift K = the first row of x
    const { f32, f64 } = simd.heap();
    const go = simd.offset(gamma) >>> 2;
    for (let ch = 0; ch < c; ch++) {
      const d1 = f64[(s1 >>> 3) + ch] / rows;
      const v = Math.max(f64[(s2 >>> 3) + ch] / rows - d1 * d1, 0);
      const r = Math.fround(1 / Math.sqrt(Math.fround(v + epsilon)));
      f32[(mean.offset >>> 2) + ch] = f32[(xo >>> 2) + ch] + d1;
      f32[(variance.offset >>> 2) + ch] = v;
      f32[(rstd.offset >>> 2) + ch] = r;
      f32[(scale >>> 2) + ch] = f32[go + ch] * r;
    }
    simd.bnApply(xo, y.offset, rows, c, mean.offset, scale, simd.offset(beta));
    s.free();
    return [y.info, mean.info, variance.info, rstd.info];
  },
};

export const batchNormTrainGradConfig: tf.KernelConfig = {
  kernelName: BatchNormTrainGrad,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend }) => {
    const { dy, x, gamma, mean, rstd } = inputs as unknown as Record<'dy' | 'x' | 'gamma' | 'mean' | 'rstd', tf.TensorInfo>;
    const c = x.shape[x.shape.length - 1];
    const rows = tf.util.sizeFromShape(x.shape) / c;
    const simd = rows > 0 && dy.dtype === 'float32' && x.dtype === 'float32' ? simdKernels(backend) : null;
    if (simd === null) {
      return tf.tidy(() => batchNormTrainGradComposed(asTensor(dy), asTensor(x), asTensor(gamma), asTensor(mean), asTensor(rstd))) as unknown as tf.TensorInfo[];
    }
    const dx = simd.output(x.shape);
    const [dgamma, dbeta] = [simd.output([c]), simd.output([c])];
    // Scratch: s1, s2 (float64 totals), blk1, blk2 (float32 block sums), a, b, d.
    const s = simd.scratch(8 * c * 2 + 4 * c * 5);
    const [s1, s2] = [s.offset, s.offset + 8 * c];
    const [blk1, blk2, a, b, d] = [16, 20, 24, 28, 32].map((k) => s.offset + k * c);
    const [dyo, xo, mo] = [simd.offset(dy), simd.offset(x), simd.offset(mean)];
    simd.bnGradSums(dyo, xo, rows, c, mo, blk1, blk2, s1, s2);
    const { f32, f64 } = simd.heap();
    const [go, ro] = [simd.offset(gamma) >>> 2, simd.offset(rstd) >>> 2];
    for (let ch = 0; ch < c; ch++) {
      const r = f32[ro + ch];
      const db = Math.fround(f64[(s1 >>> 3) + ch]);
      const dg = Math.fround(f64[(s2 >>> 3) + ch] * r);
      f32[(dbeta.offset >>> 2) + ch] = db;
      f32[(dgamma.offset >>> 2) + ch] = dg;
      f32[(a >>> 2) + ch] = f32[go + ch] * r;
      f32[(b >>> 2) + ch] = db / rows;
      f32[(d >>> 2) + ch] = (r * dg) / rows;
    }
    simd.bnGradApply(dyo, xo, dx.offset, rows, c, mo, a, b, d);
    s.free();
    return [dx.info, dgamma.info, dbeta.info];
  },
};
