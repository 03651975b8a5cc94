/**
 * `Conv2DBackpropFilter` for the wasm backend (tfjs 4.22 ships none, so `fit` of any conv net throws).
 *
 * dW[i, j] = sum over (n, oh, ow) of X_ij[n, oh, ow, :]^T dy[n, oh, ow, :], where X_ij is the input
 * window filter tap (i, j) sees. All taps are gathered side by side (im2col) so the whole
 * gradient is ONE matmul `cols^T @ dy` on wasm's native BatchMatMul; the batch is processed in
 * chunks so the im2col buffer stays bounded (VGG's first block would otherwise need GBs).
 * 1x1 stride-1 convolutions skip im2col entirely: the input already is the column matrix.
 *
 * Other undilated convolutions (the 3x3 stride-2 stem of MobileNetV2, ResNet's and VGG's 3x3s)
 * compute the same sum as ONE native convolution with batch and channels swapped: with
 * x' = x transposed to [Ci, H, W, N] and dy' = dy transposed to [Ho, Wo, N, Co] used as the filter,
 * dW[i, j, c, o] = Σ_{n,oh,ow} x'[c, i + s·oh, j + s·ow, n] · dy'[oh, ow, n, o] is a 'valid'
 * convolution of x' with dy' at dilation s (the forward stride), giving [Ci, kh, kw, Co].
 * XNNPACK runs it (SIMD, threaded) without gathering the strided taps, which wasm's generic
 * `StridedSlice` does one element at a time: 200 ms of the stem's 210 ms at 96 px, batch 32.
 */
import * as tf from '@tensorflow/tfjs-core';
import { asTensor, convGeometry, padForTaps, tapWindow, type ConvGeometry } from '../../../ops/_conv_util.js';

/**
 * Upper bound on im2col elements held at once (16 M floats = 64 MB, twice with its transpose):
 * training shares the wasm32 heap (4 GB at most) with every saved activation.
 */
const MAX_COLS_ELEMENTS = 1 << 24;

/** The filter gradient as one dilated convolution with batch and channels swapped (see above). */
function filterGradBySwap(x: tf.Tensor4D, dy: tf.Tensor4D, g: ConvGeometry): tf.Tensor4D {
  const xt = tf.transpose(padForTaps(x, g), [3, 1, 2, 0]) as tf.Tensor4D;
  const dyt = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;
  const dilations: [number, number] = [g.strideHeight, g.strideWidth];
  return tf.transpose(tf.conv2d(xt, dyt, 1, 'valid', 'NHWC', dilations), [1, 2, 0, 3]);
}

function filterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, g: ConvGeometry, filterShape: number[]): tf.Tensor4D {
  const [kh, kw, ci, co] = filterShape;
  if (!(kh === 1 && kw === 1) && g.dilationHeight === 1 && g.dilationWidth === 1) return filterGradBySwap(x, dy, g);
  const k = kh * kw * ci;
  const pointwise = kh === 1 && kw === 1 && g.strideHeight === 1 && g.strideWidth === 1 && g.padTop === 0 && g.padLeft === 0;
  const xp = pointwise ? x : padForTaps(x, g);
  const perImage = g.outHeight * g.outWidth * k;
  const chunk = Math.max(1, Math.floor(MAX_COLS_ELEMENTS / perImage));
  let acc: tf.Tensor2D | null = null;
  for (let n0 = 0; n0 < g.batch; n0 += chunk) {
    const nb = Math.min(chunk, g.batch - n0);
    const part = tf.tidy(() => {
      const xs = nb === g.batch ? xp : tf.slice(xp, [n0, 0, 0, 0], [nb, -1, -1, -1]);
      const dys = nb === g.batch ? dy : tf.slice(dy, [n0, 0, 0, 0], [nb, -1, -1, -1]);
      let cols: tf.Tensor;
      if (pointwise) {
        cols = xs;
      } else {
        const taps: tf.Tensor4D[] = [];
        for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) taps.push(tapWindow(xs as tf.Tensor4D, g, i, j));
        cols = taps.length === 1 ? taps[0] : tf.concat(taps, 3);
      }
      const m = nb * g.outHeight * g.outWidth;
      // An explicit transpose keeps BatchMatMul on wasm's fast (non-transposed) path.
      const colsT = tf.transpose(tf.reshape(cols, [m, k]));
      return tf.matMul(colsT, tf.reshape(dys, [m, co])) as tf.Tensor2D;
    });
    if (acc === null) acc = part;
    else {
      const next: tf.Tensor2D = tf.add(acc, part);
      acc.dispose();
      part.dispose();
      acc = next;
    }
  }
  return tf.reshape(acc as tf.Tensor2D, [kh, kw, ci, co]);
}

export const conv2DBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs }) => {
    const { x, dy } = inputs as unknown as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    return tf.tidy(() => {
      const g = convGeometry(tf.Conv2DBackpropFilter, x.shape, filterShape, strides, pad, 1, dimRoundingMode, false, dataFormat);
      return filterGrad(asTensor<tf.Tensor4D>(x), asTensor<tf.Tensor4D>(dy), g, filterShape);
    });
  },
};
