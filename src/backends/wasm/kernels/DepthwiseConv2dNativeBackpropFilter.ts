/**
 * `DepthwiseConv2dNativeBackpropFilter` for the wasm backend (missing in tfjs 4.22).
 *
 * For channel c and multiplier m: dW[i, j, c, m] = sum over (n, oh, ow) of
 * X_ij[n, oh, ow, c] * dy[n, oh, ow, c*M + m]. Each tap is one native multiply and one native
 * reduction over the batch and spatial axes; there is no per-channel loop in JavaScript.
 */
import * as tf from '@tensorflow/tfjs-core';
import { asTensor, convGeometry, padForTaps, tapWindow } from '../../_conv_util.js';

export const depthwiseConv2dNativeBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropFilter,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs }) => {
    const { x, dy } = inputs as unknown as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const { strides, dilations, pad, dimRoundingMode, filterShape } =
      attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
    return tf.tidy(() => {
      const g = convGeometry(tf.DepthwiseConv2dNativeBackpropFilter, x.shape, filterShape, strides, pad, dilations, dimRoundingMode, true, 'NHWC');
      const [kh, kw, c, mult] = filterShape;
      const xp = padForTaps(asTensor<tf.Tensor4D>(x), g);
      const dyT = asTensor<tf.Tensor4D>(dy);
      const dy5 = mult === 1 ? dyT : tf.reshape(dyT, [g.batch, g.outHeight, g.outWidth, c, mult]);
      const taps: tf.Tensor[] = [];
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          // One tap at a time, freed at once: at MobileNetV2's 112x112x96 maps a window is
          // ~150 MB per batch of 32, and the wasm32 heap stops at 4 GB.
          taps.push(tf.tidy(() => {
            const win = tapWindow(xp, g, i, j);
            const w5 = mult === 1 ? win : tf.reshape(win, [g.batch, g.outHeight, g.outWidth, c, 1]);
            return tf.sum(tf.mul(w5, dy5), [0, 1, 2]);
          }));
        }
      }
      return tf.reshape(tf.stack(taps), [kh, kw, c, mult]);
    });
  },
};
