/**
 * A faster `BatchMatMul` on wasm when an operand is transposed: wasm's stock kernel leaves its
 * fast (XNNPACK) path for `transposeA`/`transposeB`, and those are exactly the products of every
 * Dense layer's backward pass (dW = xᵀ·dy, dx = dy·Wᵀ). Measured here on [4096, 128] x [4096, 512]:
 * 458 ms with `transposeA`, 22 ms as an explicit transpose followed by the plain product; 231 vs
 * 18 ms for `transposeB`. It was 90 % of a BERT-tiny training step. Transposing first costs one
 * copy of the operand; products without transposes go to the stock kernel unchanged.
 */
import * as tf from '@tensorflow/tfjs-core';
import { wrapStock } from './_wrap_stock.js';
import { asTensor } from '../../../ops/_conv_util.js';

/** Wraps wasm's own BatchMatMul: materialise transposes, then the fast untransposed product. */
export function batchMatMulConfig(stock: tf.KernelConfig): tf.KernelConfig {
  return wrapStock(stock, (args) => {
    const { a, b } = args.inputs as unknown as { a: tf.TensorInfo; b: tf.TensorInfo };
    const { transposeA, transposeB } = args.attrs as unknown as tf.BatchMatMulAttrs;
    if (!transposeA && !transposeB) return null;
    const swapLast = (t: tf.Tensor): tf.Tensor => tf.transpose(t, [...Array.from({ length: t.rank - 2 }, (_, i) => i), t.rank - 1, t.rank - 2]);
    return tf.tidy(() => {
      const x = transposeA ? swapLast(asTensor<tf.Tensor>(a)) : asTensor<tf.Tensor>(a);
      const y = transposeB ? swapLast(asTensor<tf.Tensor>(b)) : asTensor<tf.Tensor>(b);
      return tf.matMul(x, y);
    });
  });
}
