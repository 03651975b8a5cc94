/**
 * Training-mode batch normalisation on wasm, forward (`TkBatchNormTrain`) and gradient
 * (`TkBatchNormTrainGrad`), each as two SIMD passes over the activation
 * (`../simd/batch_norm.wat`) instead of ~6 (forward) and ~9 (gradient) element-wise TF.js kernels.
 * Same formulas as `ops/batch_norm_train.ts` (biased batch variance, Ioffe & Szegedy's closed-form
 * gradient); sums in float64, so the values agree with the composed ops to float32 rounding.
 *
 * With a ReLU/ReLU6 after the BN (`TkBatchNormActTrain`, `TkBatchNormActTrainGrad`, used when the
 * activation is the BN's sole consumer: `layers/fold_batch_norm.ts`'s plan), the forward clamps
 * in its second pass and the gradient masks `dy` on the fly in both of its passes, recomputing
 * the pre-activation exactly as the forward did. That removes the activation's own forward pass
 * and its gradient pass, and the tape no longer keeps the BN output for them.
 * Falls back to the composed ops where the SIMD kernels cannot run.
 */
import * as tf from '@tensorflow/tfjs-core';
import { asTensor } from '../../../ops/_conv_util.js';
import { BatchNormActTrain, BatchNormActTrainGrad, BatchNormTrain, BatchNormTrainGrad } from '../../../kernel_names.js';
import { batchNormActTrainGradComposed, batchNormTrainComposed, batchNormTrainGradComposed } from '../../../ops/batch_norm_train.js';
import { simdKernels } from '../simd/simd_kernels.js';

/** The forward kernel; `act`: clamp the output to [0, attrs.max] (ReLU: max = ∞). */
function forward(act: boolean): tf.KernelFunc {
  return ({ inputs, attrs, backend }) => {
    const { x, gamma, beta } = inputs as unknown as Record<'x' | 'gamma' | 'beta', tf.TensorInfo>;
    const { epsilon, max = Infinity } = attrs as unknown as { epsilon: number; max?: number };
    const c = x.shape[x.shape.length - 1];
    const rows = tf.util.sizeFromShape(x.shape) / c;
    const simd = rows > 0 ? simdKernels(backend) : null;
    if (simd === null) {
      return tf.tidy(() => {
        const out = batchNormTrainComposed(asTensor(x), asTensor(gamma), asTensor(beta), epsilon);
        if (act) out[0] = tf.clipByValue(out[0], 0, max);
        return out;
      }) as unknown as tf.TensorInfo[];
    }
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
    if (act) simd.bnApplyAct(xo, y.offset, rows, c, mean.offset, scale, simd.offset(beta), max);
    else simd.bnApply(xo, y.offset, rows, c, mean.offset, scale, simd.offset(beta));
    s.free();
    return [y.info, mean.info, variance.info, rstd.info];
  };
}

/** The gradient kernel; `act`: `dy` masked where the forward's clamp passed its input. */
function backward(act: boolean): tf.KernelFunc {
  return ({ inputs, attrs, backend }) => {
    const { dy, x, gamma, beta, mean, rstd } = inputs as unknown as Record<'dy' | 'x' | 'gamma' | 'beta' | 'mean' | 'rstd', tf.TensorInfo>;
    const { max = Infinity } = attrs as unknown as { max?: number };
    const c = x.shape[x.shape.length - 1];
    const rows = tf.util.sizeFromShape(x.shape) / c;
    const simd = rows > 0 && dy.dtype === 'float32' && x.dtype === 'float32' ? simdKernels(backend) : null;
    if (simd === null) {
      return tf.tidy(() =>
        act
          ? batchNormActTrainGradComposed(asTensor(dy), asTensor(x), asTensor(gamma), asTensor(beta), asTensor(mean), asTensor(rstd), max)
          : batchNormTrainGradComposed(asTensor(dy), asTensor(x), asTensor(gamma), asTensor(mean), asTensor(rstd)),
      ) as unknown as tf.TensorInfo[];
    }
    const dx = simd.output(x.shape);
    const [dgamma, dbeta] = [simd.output([c]), simd.output([c])];
    // Scratch: s1, s2 (float64 totals), blk1, blk2 (float32 block sums), a, b, d.
    const s = simd.scratch(8 * c * 2 + 4 * c * 5);
    const [s1, s2] = [s.offset, s.offset + 8 * c];
    const [blk1, blk2, a, b, d] = [16, 20, 24, 28, 32].map((k) => s.offset + k * c);
    const [dyo, xo, mo] = [simd.offset(dy), simd.offset(x), simd.offset(mean)];
    const { f32: f32a } = simd.heap();
    const [go, ro] = [simd.offset(gamma) >>> 2, simd.offset(rstd) >>> 2];
    // a = gamma * rstd: the forward's scale, so the masks below recompute its pre-activation exactly.
    for (let ch = 0; ch < c; ch++) f32a[(a >>> 2) + ch] = f32a[go + ch] * f32a[ro + ch];
    const bo = act ? simd.offset(beta) : 0;
    if (act) simd.bnGradSumsAct(dyo, xo, rows, c, mo, blk1, blk2, s1, s2, a, bo, max);
    else simd.bnGradSums(dyo, xo, rows, c, mo, blk1, blk2, s1, s2);
    const { f32, f64 } = simd.heap();
    for (let ch = 0; ch < c; ch++) {
      const r = f32[ro + ch];
      const db = Math.fround(f64[(s1 >>> 3) + ch]);
      const dg = Math.fround(f64[(s2 >>> 3) + ch] * r);
      f32[(dbeta.offset >>> 2) + ch] = db;
      f32[(dgamma.offset >>> 2) + ch] = dg;
      f32[(b >>> 2) + ch] = db / rows;
      f32[(d >>> 2) + ch] = (r * dg) / rows;
    }
    if (act) simd.bnGradApplyAct(dyo, xo, dx.offset, rows, c, mo, a, b, d, bo, max);
    else simd.bnGradApply(dyo, xo, dx.offset, rows, c, mo, a, b, d);
    s.free();
    return [dx.info, dgamma.info, dbeta.info];
  };
}

export const batchNormTrainConfig: tf.KernelConfig = { kernelName: BatchNormTrain, backendName: 'wasm', kernelFunc: forward(false) };
export const batchNormTrainGradConfig: tf.KernelConfig = { kernelName: BatchNormTrainGrad, backendName: 'wasm', kernelFunc: backward(false) };
export const batchNormActTrainConfig: tf.KernelConfig = { kernelName: BatchNormActTrain, backendName: 'wasm', kernelFunc: forward(true) };
export const batchNormActTrainGradConfig: tf.KernelConfig = { kernelName: BatchNormActTrainGrad, backendName: 'wasm', kernelFunc: backward(true) };
