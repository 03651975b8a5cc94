/**
 * `DepthwiseConv2dNativeBackpropInput` for the wasm backend (missing in tfjs 4.22).
 *
 * The input gradient of a strided, padded correlation is a stride-1 'valid' correlation of the
 * zero-dilated, re-padded output gradient with the spatially flipped filter. That correlation
 * is run by wasm's native (XNNPACK) depthwise convolution. With a channel multiplier M the
 * C*M gradient channels are convolved separately and summed back to C.
 */
import * as tf from '@tensorflow/tfjs-core';
import { asTensor, convGeometry, dilateFilter, spreadAndPad } from '../../_conv_util.js';
import { inputGradientUnneeded } from '../../unneeded_input_gradients.js';

export const depthwiseConv2dNativeBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropInput,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs }) => {
    const { dy, filter } = inputs as unknown as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const { strides, dilations, pad, dimRoundingMode, inputShape } =
      attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
    if (inputGradientUnneeded(filter)) return tf.zeros(inputShape); // see unneeded_input_gradients.ts
    return tf.tidy(() => {
      const g = convGeometry(tf.DepthwiseConv2dNativeBackpropInput, inputShape, filter.shape, strides, pad, dilations, dimRoundingMode, true, 'NHWC');
      const [, , c, mult] = filter.shape;
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
