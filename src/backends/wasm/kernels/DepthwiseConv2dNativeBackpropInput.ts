/**
 * `DepthwiseConv2dNativeBackpropInput` for the wasm backend (missing in tfjs 4.22).
 *
 * The input gradient of a strided, padded correlation is a stride-1 'valid' correlation of the
 * zero-dilated, re-padded output gradient with the spatially flipped filter. That correlation
 * is run by wasm's native (XNNPACK) depthwise convolution. With a channel multiplier M the
 * C*M gradient channels are convolved separately and summed back to C.
 *
 * With multiplier 1 and no dilation (MobileNet, EfficientNet) the SIMD kernel of
 * `../simd/depthwise_input_grad.wat` gathers each input pixel's gradient directly instead: no
 * dilated/padded copy of dy, no flipped filter ([32, 48, 48, 96], 3x3, stride 2: 78 -> ~10 ms).
 */
import * as tf from '@tensorflow/tfjs-core';
import { asTensor, convGeometry, dilateFilter, spreadAndPad } from '../../../ops/_conv_util.js';
import { inputGradientUnneeded } from '../../unneeded_input_gradients.js';
import { depthwiseSimd } from '../simd/simd_kernels.js';

export const depthwiseConv2dNativeBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropInput,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs, backend }) => {
    const { dy, filter } = inputs as unknown as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const { strides, dilations, pad, dimRoundingMode, inputShape } =
      attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
    if (inputGradientUnneeded(filter)) return tf.zeros(inputShape); // see unneeded_input_gradients.ts
    const g = convGeometry(tf.DepthwiseConv2dNativeBackpropInput, inputShape, filter.shape, strides, pad, dilations, dimRoundingMode, true, 'NHWC');
    const [kh, kw, c, mult] = filter.shape;
    const simd = depthwiseSimd(backend, mult, g, dy, filter);
    if (simd !== null) {
      const dx = simd.output(inputShape);
      simd.dwInputGrad(simd.offset(dy), simd.offset(filter), dx.offset, g.batch, g.inHeight, g.inWidth, c, g.outHeight, g.outWidth, kh, kw, g.strideHeight, g.strideWidth, g.padTop, g.padLeft);
      return dx.info;
    }
    return tf.tidy(() => {
      const w = dilateFilter(asTensor<tf.Tensor4D>(filter), g.dilationHeight, g.dilationWidth);
      const keh = w.shape[0];
      const kew = w.shape[1];
      const flipped = tf.reshape(tf.reverse(w, [0, 1]), [keh, kew, c * mult, 1]) as tf.Tensor4D;
      const top = keh - 1 - g.padTop;
      const left = kew - 1 - g.padLeft;
      const bottom = g.inHeight + keh - 1 - top - ((g.outHeight - 1) * g.strideHeight + 1);
      const right = g.inWidth + kew - 1 - left - ((g.outWidth - 1) * g.strideWidth + 1);
      const dyPad = spreadAndPad(asTensor<tf.Tensor4D>(dy), g.strideHeight, g.strideWidth, top, bottom, left, right);
      const dx = tf.depthwiseConv2d(dyPad, flipped, 1, 'valid');
      if (mult === 1) return dx;
      return tf.sum(tf.reshape(dx, [g.batch, g.inHeight, g.inWidth, c, mult]), 4);
    });
  },
};
