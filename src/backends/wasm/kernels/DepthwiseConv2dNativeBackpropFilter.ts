/**
 * `DepthwiseConv2dNativeBackpropFilter` for the wasm backend (missing in tfjs 4.22).
 *
 * dW[i, j, c, m] = sum over (n, oh, ow) of xPad[n, oh*s + i*d, ow*s + j*d, c] * dy[n, oh, ow, c*M + m].
 * That is, per (n, c), a correlation of the padded input with dy used as a *filter* dilated by
 * the forward stride. Folding the batch into the channel axis (x -> [1, H, W, N*C],
 * dy -> [Ho, Wo, N*C, M]) turns the whole gradient into ONE native (XNNPACK) depthwise
 * convolution with channel multiplier M, followed by a sum over N.
 *
 * With channel multiplier 1 and no dilation (every depthwise layer of MobileNet/EfficientNet), the
 * hand-written SIMD kernel of `../simd/depthwise_filter_grad.wat` runs instead: the XNNPACK form
 * below drives its multipass path with an Ho x Wo "filter" at ~1/15 of the forward pass's speed
 * (443 ms against 13 ms for [32, 48, 48, 96], 3x3, stride 1, two threads).
 *
 * Why not tap windows: gathering each of the k*k strided windows needs wasm's generic
 * StridedSlice, which took 2.1 s for one stride-2 MobileNetV2 layer at 96 px / batch 32 against
 * 92 ms for this formulation (measured in this repo; see docs/performance.md).
 */
import * as tf from '@tensorflow/tfjs-core';
import { asTensor, convGeometry, padOrCrop } from '../../../ops/_conv_util.js';
import { depthwiseSimd } from '../simd/simd_kernels.js';

export const depthwiseConv2dNativeBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropFilter,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs, backend }) => {
    const { x, dy } = inputs as unknown as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const { strides, dilations, pad, dimRoundingMode, filterShape } =
      attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
    const g = convGeometry(tf.DepthwiseConv2dNativeBackpropFilter, x.shape, filterShape, strides, pad, dilations, dimRoundingMode, true, 'NHWC');
    const [kh, kw, c, mult] = filterShape;
    const simd = depthwiseSimd(backend, mult, g, x, dy);
    if (simd !== null) {
      const out = simd.zeros([kh, kw, c, 1]);
      simd.dwFilterGrad(simd.offset(x), simd.offset(dy), out.offset, g.batch, g.inHeight, g.inWidth, c, g.outHeight, g.outWidth, kh, kw, g.strideHeight, g.strideWidth, g.padTop, g.padLeft);
      return out.info;
    }
    return tf.tidy(() => {
      const n = g.batch;
      const needH = (g.outHeight - 1) * g.strideHeight + (kh - 1) * g.dilationHeight + 1;
      const needW = (g.outWidth - 1) * g.strideWidth + (kw - 1) * g.dilationWidth + 1;
      const xp = padOrCrop(asTensor<tf.Tensor4D>(x), g.padTop, needH - g.inHeight - g.padTop, g.padLeft, needW - g.inWidth - g.padLeft);
      const xin = tf.reshape(tf.transpose(xp, [1, 2, 0, 3]), [1, needH, needW, n * c]) as tf.Tensor4D;
      const filt = tf.reshape(tf.transpose(asTensor<tf.Tensor4D>(dy), [1, 2, 0, 3]), [g.outHeight, g.outWidth, n * c, mult]) as tf.Tensor4D;
      const strideAsDilation: [number, number] = [g.strideHeight, g.strideWidth];
      // out: [1, (kh-1)*dh + 1, (kw-1)*dw + 1, N*C*M]; tap (i, j) sits at (i*dh, j*dw).
      let out = tf.depthwiseConv2d(xin, filt, 1, 'valid', 'NHWC', strideAsDilation) as tf.Tensor4D;
      if (g.dilationHeight > 1 || g.dilationWidth > 1) {
        out = tf.stridedSlice(out, [0, 0, 0, 0], [1, out.shape[1], out.shape[2], n * c * mult], [1, g.dilationHeight, g.dilationWidth, 1]) as tf.Tensor4D;
      }
      return tf.sum(tf.reshape(out, [kh, kw, n, c, mult]), 2);
    });
  },
};
