/**
 * `Conv2DBackpropFilter` for the wasm backend (tfjs 4.22 ships none, so `fit` of any conv net throws).
 *
 * dW[i, j] = sum over (n, oh, ow) of X_ij[n, oh, ow, :]^T dy[n, oh, ow, :], where X_ij is the input
 * window filter tap (i, j) sees. All taps are gathered side by side (im2col) so the whole
 * gradient is ONE matmul `cols^T @ dy` on wasm's native BatchMatMul; the batch is processed in
 * chunks so the im2col buffer stays bounded (VGG's first block would otherwise need GBs).
 * 1x1 stride-1 convolutions skip im2col entirely: the input already is the column matrix.
 *
 * Taps are gathered already transposed: each window [N·Ho·Wo, Ci] is transposed on its own (the
 * SIMD `Transpose`) and the [Ci, N·Ho·Wo] blocks are stacked along the first axis, a contiguous
 * concatenation, instead of concatenating along the channel axis and transposing the whole.
 * Measured on ResNet50's 3x3 layers at batch 4 (2 threads): 15-25 % faster than the swapped
 * convolution below (e.g. [4, 56, 56, 64]: 26 vs 31 ms; [4, 7, 7, 512]: 37 vs 41 ms).
 *
 * Strided undilated convolutions, those with few input channels (stems: MobileNetV2's 3x3
 * stride 2 on RGB, ResNet's 7x7), and every undilated one where the SIMD kernels are off, compute
 * the same sum as ONE native convolution with batch and channels swapped: with
 * x' = x transposed to [Ci, H, W, N] and dy' = dy transposed to [Ho, Wo, N, Co] used as the filter,
 * dW[i, j, c, o] = Σ_{n,oh,ow} x'[c, i + s·oh, j + s·ow, n] · dy'[oh, ow, n, o] is a 'valid'
 * convolution of x' with dy' at dilation s (the forward stride), giving [Ci, kh, kw, Co].
 * XNNPACK runs it (SIMD, threaded) without gathering taps (for 3 input channels, the 9 or 49
 * narrow windows cost more than the convolution: 133 vs 62 ms for ResNet50's stem at batch 4).
 */
import * as tf from '@tensorflow/tfjs-core';
import { asTensor, convGeometry, padForTaps, tapWindow, type ConvGeometry } from '../../../ops/_conv_util.js';
import { simdKernels } from '../simd/simd_kernels.js';

/** Input channels below which an undilated convolution's gradient uses the swapped convolution. */
const SWAP_BELOW_CHANNELS = 16;

/**
 * Upper bound on im2col elements held at once (16 M floats = 64 MB; twice at the stacking, and
 * the padded input besides):
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
  // Stacked taps only where transposes are the SIMD kernel and slices memory moves (wasm with its
  // SIMD kernels); elsewhere (SIMD off, or webgpu, which borrows this composition for its non-1x1
  // filters and runs each slice and transpose as a dispatch) the swap, or one concat + transpose.
  const stackTaps = tf.getBackend() === 'wasm' && simdKernels(tf.backend()) !== null;
  // Strided layers keep the swap: their windows are a reshape + slice each (measured: [32, 48, 48, 32]
  // 3x3 stride 2, 38-42 ms stacked vs 22-24 swapped; [8, 112, 112, 64] 130-134 vs 127-131).
  const swap = ci < SWAP_BELOW_CHANNELS || !stackTaps || g.strideHeight !== 1 || g.strideWidth !== 1;
  if (!(kh === 1 && kw === 1) && swap && g.dilationHeight === 1 && g.dilationWidth === 1) return filterGradBySwap(x, dy, g);
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
      const m = nb * g.outHeight * g.outWidth;
      // Explicit transposes keep BatchMatMul on wasm's fast (non-transposed) path.
      let colsT: tf.Tensor;
      if (pointwise) colsT = tf.transpose(tf.reshape(xs, [m, k]));
      else if (stackTaps) {
        const tapsT: tf.Tensor[] = [];
        for (let i = 0; i < kh; i++) {
          for (let j = 0; j < kw; j++) {
            const window = tapWindow(xs as tf.Tensor4D, g, i, j);
            tapsT.push(tf.transpose(tf.reshape(window, [m, ci])));
            window.dispose(); // at most the transposed taps and their stack are alive at once
          }
        }
        colsT = tapsT.length === 1 ? tapsT[0] : tf.concat(tapsT, 0);
      } else {
        const taps: tf.Tensor4D[] = [];
        for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) taps.push(tapWindow(xs as tf.Tensor4D, g, i, j));
        colsT = tf.transpose(tf.reshape(taps.length === 1 ? taps[0] : tf.concat(taps, 3), [m, k]));
      }
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
