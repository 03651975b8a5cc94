/**
 * `MaxPoolGrad` on wasm by the SIMD kernel `../simd/max_pool_grad.wat` (same window rule as
 * tfjs's `maxPoolPositions`: padding never wins, the first strictly greater value does). The
 * stock kernel took 120 ms of a 2.8 s ResNet50 training step at batch 4; VGG has five such pools.
 * Other dtypes go to the stock kernel.
 */
import * as tf from '@tensorflow/tfjs-core';
import { wrapStock } from './_wrap_stock.js';
import { simdKernels } from '../simd/simd_kernels.js';

/** Wraps wasm's own MaxPoolGrad: float32 by the SIMD kernel. */
export function maxPoolGradConfig(stock: tf.KernelConfig): tf.KernelConfig {
  return wrapStock(stock, ({ inputs, attrs, backend }) => {
    const { dy, input } = inputs as unknown as { dy: tf.TensorInfo; input: tf.TensorInfo };
    const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as tf.MaxPoolGradAttrs;
    if (dy.dtype !== 'float32' || input.dtype !== 'float32') return null;
    const simd = simdKernels(backend);
    if (simd === null) return null;
    const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
    const dx = simd.zeros(input.shape);
    simd.maxPoolGrad(
      simd.offset(input), simd.offset(dy), dx.offset, info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth,
      info.effectiveFilterHeight, info.effectiveFilterWidth, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left,
    );
    return dx.info;
  });
}
