/**
 * Faster `Sum` and `Mean` on wasm over every axis but the last, for tensors of rank ≥ 3 — the
 * reductions of training: BatchNorm's batch statistics and gradients, and every conv bias
 * gradient (`Σ dy` over N, H, W). wasm's stock kernels first move the reduced axes innermost with
 * a full transpose, then add serially. Here the tensor is viewed as [N, P, 1, C] and reduced over
 * P by XNNPACK's average pooling (SIMD, threaded when the pool has threads, no copy), then over
 * the small N by the stock kernel; a sum is the mean times the count. Measured here on fresh
 * [32, 48, 48, 96] tensors (2 threads): 43 ms stock, 8 ms pooled. (A product with a row of ones
 * looked faster on a reused tensor but is slower on fresh ones: XNNPACK re-packs the "weights"
 * operand on every call.) Other reductions go to the stock kernels unchanged.
 */
import * as tf from '@tensorflow/tfjs-core';
import { wrapStock } from './_wrap_stock.js';
import { asTensor } from '../../../ops/_conv_util.js';

/** True when `axis` names exactly the leading axes [0, rank-2] of a float tensor of rank ≥ 3. */
function leadingAxes(x: tf.TensorInfo, axis: number | number[]): boolean {
  if (x.dtype !== 'float32' || x.shape.length < 3) return false;
  const axes = [...tf.util.parseAxisParam(axis, x.shape)].sort((a, b) => a - b);
  return axes.length === x.shape.length - 1 && axes.every((a, i) => a === i);
}

function wrapReduction(stock: tf.KernelConfig, mean: boolean): tf.KernelConfig {
  return wrapStock(stock, (args) => {
    const { x } = args.inputs as unknown as { x: tf.TensorInfo };
    const { axis, keepDims } = args.attrs as unknown as tf.SumAttrs;
    if (!leadingAxes(x, axis)) return null;
    const n = x.shape[0];
    const c = x.shape[x.shape.length - 1];
    const p = x.shape.slice(1, -1).reduce((a, b) => a * b, 1);
    return tf.tidy(() => {
      const pooled = tf.reshape(tf.avgPool(tf.reshape(asTensor<tf.Tensor>(x), [n, p, 1, c]) as tf.Tensor4D, [p, 1], 1, 'valid'), [n, c]);
      const r = mean ? tf.mean(pooled, 0) : tf.mul(tf.sum(pooled, 0), tf.scalar(p));
      return tf.reshape(r, keepDims ? [...x.shape.slice(0, -1).map(() => 1), c] : [c]);
    }) as unknown as tf.TensorInfo;
  });
}

/** Wraps wasm's `Sum`. */
export const sumConfig = (stock: tf.KernelConfig): tf.KernelConfig => wrapReduction(stock, false);
/** Wraps wasm's `Mean`. */
export const meanConfig = (stock: tf.KernelConfig): tf.KernelConfig => wrapReduction(stock, true);
